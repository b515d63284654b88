/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the operations helpers: --log-level/--log-format parsing
 * and the JSON log line, the documents generated from an options table,
 * and the service manager's notification datagram. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/log.h"
#include "core/opt.h"
#include "core/opt_doc.h"
#include "core/sdnotify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void test_log_setup_levels(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(td_log_setup("warn,feed=debug", "json", err, sizeof err), 0);
    assert_int_equal(td_log_level_current, TD_LOG_DEBUG); /* the most verbose component */
    assert_int_equal(td_log_setup("info", "text", err, sizeof err), 0);
    assert_int_equal(td_log_level_current, TD_LOG_INFO);
    static const struct {
        const char *levels, *format, *why;
    } bad[] = {
        {"loud", "text", "bad --log-level 'loud'"},
        {"info,nosuch=debug", "text", "unknown component 'nosuch'"},
        {"info,feed=verbose", "text", "bad --log-level 'feed=verbose'"},
        {"info", "xml", "bad --log-format 'xml'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        assert_int_equal(td_log_setup(bad[i].levels, bad[i].format, err, sizeof err), -1);
        assert_non_null(strstr(err, bad[i].why));
    }
    assert_int_equal(td_log_setup("info", "text", err, sizeof err), 0);
}

/* Log lines in JSON, read back from a temporary stderr. */
static void test_log_json_lines(void **state)
{
    (void)state;
    char err[256], path[] = "/tmp/td_test_log_XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    assert_true(fd >= 0);
    fflush(stderr);
    dup2(fd, 2);
    assert_int_equal(td_log_setup("error", "json", err, sizeof err), 0);
    td_log_set_prefix("run");
    TD_WARN("quote \"x\"\tand 3 suppressed)"); /* in a cmd/ folder: the prefix */
    TD_REPORT("a summary");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    assert_int_equal(td_log_setup("info", "text", err, sizeof err), 0);
    char buf[1024] = "";
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    unlink(path);
    assert_true(n > 0);
    /* the warning is below "error" for the prefix component: only the report */
    assert_null(strstr(buf, "quote"));
    assert_non_null(strstr(buf, "\"level\":\"info\",\"component\":\"run\",\"cmd\":\"run\","
                                "\"msg\":\"a summary\"}\n"));
    assert_true(buf[0] == '{' && strstr(buf, "\"ts\":\"20"));
}

typedef struct {
    char *name;
    int64_t n;
    int on;
} doc_cfg;

static const td_opt_t doc_table[] = {
    {"name", TD_OPT_STR, offsetof(doc_cfg, name), 0, 0, "a|b", "NAME", "DOC_NAME", 0,
     "the name; .dots and back\\slashes"},
    {"count-max", TD_OPT_INT, offsetof(doc_cfg, n), 0, 9, NULL, "N", NULL, 0, "how many"},
    {"on", TD_OPT_BOOL, offsetof(doc_cfg, on), 0, 0, "no", NULL, NULL, 0, "a switch"},
    TD_OPT_END,
};

static char *render(void (*fn)(const td_opt_doc_t *, FILE *))
{
    static const td_opts_t o = {"doc", doc_table, "usage: tickerd doc", "About doc."};
    static const td_opts_t *const cmds[] = {&o, NULL};
    static const char *const help[] = {"the doc command", NULL};
    static const char *const extra[] = {"version", "the version", NULL};
    td_opt_doc_t d = {"a test", "A description.", cmds, help, extra};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fn(&d, f);
    fclose(f);
    return text;
}

static void test_generated_documents(void **state)
{
    (void)state;
    char *ini = render(td_opt_doc_ini);
    assert_non_null(strstr(ini, "\n[doc]\n"));
    assert_non_null(strstr(ini, "\n#name = a|b\n"));
    assert_non_null(strstr(ini, "# Flag --name NAME; environment DOC_NAME\n"));
    assert_non_null(strstr(ini, "\n#count-max = N   (no default)\n"));
    assert_non_null(strstr(ini, "# Flag --[no-]on\n#on = no\n"));
    free(ini);
    char *md = render(td_opt_doc_markdown);
    assert_non_null(strstr(md, "| `--name NAME` | `name` | `a\\|b` | `DOC_NAME` |"));
    assert_non_null(strstr(md, "| `--[no-]on` | `on` | `no` |"));
    free(md);
    char *man = render(td_opt_doc_man);
    assert_non_null(strstr(man, ".B \\-\\-count\\-max \\fIN\\fR\nhow many\n"));
    assert_non_null(strstr(man, "back\\eslashes"));
    assert_null(strstr(man, "\n.dots")); /* no text line starts a request */
    free(man);
    char *bash = render(td_opt_doc_bash);
    assert_non_null(strstr(bash, "doc) opts=\"-c --config --check-config --help --name "
                                 "--count-max --on --no-on\" ;;"));
    assert_non_null(strstr(bash, "compgen -W \"doc version --help --version\""));
    free(bash);
}

static void test_sd_notify_datagram(void **state)
{
    (void)state;
    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(td_sd_notify("READY=1"), 0);
    char path[] = "/tmp/td_test_notify_XXXXXX";
    int tmp = mkstemp(path);
    close(tmp);
    unlink(path);
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    setenv("NOTIFY_SOCKET", path, 1);
    assert_int_equal(td_sd_notify("READY=1\nSTATUS=x"), 1);
    char buf[64] = "";
    assert_int_equal(recv(s, buf, sizeof buf, 0), 16);
    assert_string_equal(buf, "READY=1\nSTATUS=x");
    setenv("NOTIFY_SOCKET", "relative", 1);
    assert_int_equal(td_sd_notify("READY=1"), -1);
    unsetenv("NOTIFY_SOCKET");
    close(s);
    unlink(path);
    setenv("WATCHDOG_USEC", "30000000", 1);
    assert_int_equal(td_sd_watchdog_ms(), 30000);
    setenv("WATCHDOG_PID", "1", 1); /* another process's */
    assert_int_equal(td_sd_watchdog_ms(), 0);
    unsetenv("WATCHDOG_PID");
    unsetenv("WATCHDOG_USEC");
    assert_int_equal(td_sd_watchdog_ms(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_setup_levels),
        cmocka_unit_test(test_log_json_lines),
        cmocka_unit_test(test_generated_documents),
        cmocka_unit_test(test_sd_notify_datagram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
