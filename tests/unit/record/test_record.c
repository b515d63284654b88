/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/record: the recording format written and read back,
 * hourly rotation, the size bound, torn tails and corrupt files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/buf.h"
#include "record/record.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define T0   1733400000123456789LL /* 2024-12-05T12:00:00.123456789Z */
#define HOUR 3600000000000LL

static char dir[64];

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/td_rec_test.XXXXXX");
    if (!*state) *state = (void *)(intptr_t)0;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        char p[512];
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(dir);
    return 0;
}

/* The recordings in dir, sorted by name; returns how many (at most max). */
static size_t files(char names[][512], size_t max)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d)) && n < max;)
        if (strstr(e->d_name, TD_REC_SUFFIX)) snprintf(names[n++], 512, "%s/%s", dir, e->d_name);
    if (d) closedir(d);
    for (size_t i = 1; i < n; i++) /* insertion sort */
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char t[512];
            memcpy(t, names[j], 512);
            memcpy(names[j], names[j - 1], 512);
            memcpy(names[j - 1], t, 512);
        }
    return n;
}

static size_t frame_text(char *out, size_t cap, int i)
{
    return (size_t)snprintf(out, cap, "[{\"T\":\"t\",\"S\":\"AAPL\",\"i\":%d,\"p\":%d.25}]", i,
                            100 + i % 7);
}

static td_recdir_t *open_dir_workers(double max_gb, int workers)
{
    char err[256];
    td_recdir_cfg_t c = {.dir = dir, .max_gb = max_gb, .writer = "test", .workers = workers};
    td_recdir_t *d = td_recdir_new(NULL, &c, err, sizeof err);
    assert_non_null(d);
    return d;
}

static td_recdir_t *open_dir(double max_gb)
{
    return open_dir_workers(max_gb, 0);
}

/* state: the zstd worker threads (tickerd run uses 1) */
static void frames_read_back_byte_for_byte(void **state)
{
    td_recdir_t *d = open_dir_workers(0, (int)(intptr_t)*state);
    td_rec_t *w = td_recdir_stream(d, "alpaca", "wss://stream.data.alpaca.markets/v2/iex?x=1");
    char buf[128];
    for (int i = 0; i < 5000; i++) {
        size_t n = frame_text(buf, sizeof buf, i);
        td_rec_frame(w, buf, n, T0 + i * 1000LL, i == 7 ? TD_REC_FLAG_BINARY : 0);
        if (i % 1000 == 999) td_recdir_flush(d);
    }
    td_rec_frame(w, "", 0, T0 + 5000000LL, 0); /* an empty message is a record too */
    td_rec_stats_t st;
    td_recdir_stats(d, &st);
    assert_int_equal(st.frames, 5001);
    assert_int_equal(st.files, 1);
    td_recdir_close(d);

    char names[4][512];
    assert_int_equal(files(names, 4), 1);
    assert_non_null(strstr(names[0], "/alpaca_v2-iex-x-1_20241205T120000Z.tdrec.zst"));
    char err[256];
    td_rec_reader_t *r = td_rec_reader_open(names[0], err, sizeof err);
    assert_non_null(r);
    const td_rec_info_t *in = td_rec_reader_info(r);
    assert_string_equal(in->vendor, "alpaca");
    assert_string_equal(in->path, "/v2/iex?x=1");
    assert_string_equal(in->url, "wss://stream.data.alpaca.markets/v2/iex?x=1");
    assert_int_equal(in->start_ns, T0);
    td_rec_frame_t f;
    for (int i = 0; i < 5000; i++) {
        assert_int_equal(td_rec_reader_next(r, &f), TD_REC_FRAME);
        size_t n = frame_text(buf, sizeof buf, i);
        assert_int_equal(f.len, n);
        assert_memory_equal(f.data, buf, n);
        assert_int_equal(f.ns, T0 + i * 1000LL);
        assert_int_equal(f.flags, i == 7 ? TD_REC_FLAG_BINARY : 0);
    }
    assert_int_equal(td_rec_reader_next(r, &f), TD_REC_FRAME);
    assert_int_equal(f.len, 0);
    assert_int_equal(td_rec_reader_next(r, &f), TD_REC_END);
    assert_int_equal(td_rec_reader_count(r), 5001);
    td_rec_reader_free(r);
}

static void a_new_file_each_utc_hour(void **state)
{
    (void)state;
    td_recdir_t *d = open_dir(0);
    td_rec_t *w = td_recdir_stream(d, "polygon", "wss://socket.polygon.io/stocks");
    int64_t hour0 = T0 - T0 % HOUR;
    td_rec_frame(w, "[1]", 3, hour0 + HOUR - 1, 0);
    td_rec_frame(w, "[2]", 3, hour0 + HOUR, 0);
    td_rec_frame(w, "[3]", 3, hour0 + HOUR + 5, 0);
    td_recdir_close(d);
    char names[4][512];
    assert_int_equal(files(names, 4), 2);
    assert_non_null(strstr(names[0], "polygon_stocks_20241205T125959Z"));
    assert_non_null(strstr(names[1], "polygon_stocks_20241205T130000Z"));
    char err[256];
    td_rec_frame_t f;
    td_rec_reader_t *r = td_rec_reader_open(names[1], err, sizeof err);
    assert_non_null(r);
    assert_int_equal(td_rec_reader_info(r)->start_ns, hour0 + HOUR);
    assert_int_equal(td_rec_reader_next(r, &f), TD_REC_FRAME);
    assert_memory_equal(f.data, "[2]", 3);
    assert_int_equal(td_rec_reader_next(r, &f), TD_REC_FRAME);
    assert_int_equal(td_rec_reader_next(r, &f), TD_REC_END);
    td_rec_reader_free(r);
}

static void the_oldest_files_go_past_max_gb(void **state)
{
    (void)state;
    /* 40 kB: files rotate past 5 kB; incompressible payloads */
    td_recdir_t *d = open_dir(40e-6);
    td_rec_t *w = td_recdir_stream(d, "alpaca", "ws://h/v2/iex");
    unsigned char buf[1000];
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 200; i++) {
        for (size_t k = 0; k < sizeof buf; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[k] = (unsigned char)x;
        }
        td_rec_frame(w, buf, sizeof buf, T0 + i * 1000000000LL, 0);
        td_recdir_flush(d);
    }
    td_rec_stats_t st;
    td_recdir_stats(d, &st);
    td_recdir_close(d);
    assert_true(st.files > 10);
    assert_true(st.deleted > 0);
    char names[64][512];
    size_t n = files(names, 64);
    assert_int_equal(n, st.files - st.deleted);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat sb;
        assert_int_equal(stat(names[i], &sb), 0);
        total += (uint64_t)sb.st_size;
    }
    assert_true(total <= 40000 + 2 * 6000); /* the bound, plus the file being written */
    /* the newest survive: the last file holds the last frame */
    char err[256];
    td_rec_reader_t *r = td_rec_reader_open(names[n - 1], err, sizeof err);
    assert_non_null(r);
    td_rec_frame_t f;
    int64_t last = 0;
    while (td_rec_reader_next(r, &f) == TD_REC_FRAME)
        last = f.ns;
    assert_int_equal(last, T0 + 199 * 1000000000LL);
    td_rec_reader_free(r);
}

/* A zstd file of raw (decompressed) bytes [p, p+n). */
static void write_zst(const char *path, const void *p, size_t n)
{
    size_t cap = ZSTD_compressBound(n);
    void *out = malloc(cap);
    size_t z = ZSTD_compress(out, cap, p, n, 1);
    assert_false(ZSTD_isError(z));
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(out, 1, z, f), z);
    fclose(f);
    free(out);
}

static void raw_header(td_buf_t *b, const char *json)
{
    uint32_t n = (uint32_t)strlen(json);
    unsigned char len[4] = {(unsigned char)n, (unsigned char)(n >> 8), 0, 0};
    td_buf_append(b, TD_REC_MAGIC, TD_REC_MAGIC_LEN);
    td_buf_append(b, len, 4);
    td_buf_appends(b, json);
}

static void raw_record(td_buf_t *b, const char *p, uint32_t n, uint32_t claimed)
{
    unsigned char h[TD_REC_REC_HDR] = {0};
    for (int i = 0; i < 4; i++)
        h[i] = (unsigned char)(claimed >> (8 * i));
    h[4] = 1;
    td_buf_append(b, h, sizeof h);
    td_buf_append(b, p, n);
}

#define HDR "{\"vendor\":\"alpaca\",\"url\":\"ws://h/v2/iex\",\"path\":\"/v2/iex\",\"start_ns\":1}"

static void a_torn_record_ends_the_file(void **state)
{
    (void)state;
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/torn%s", dir, TD_REC_SUFFIX);
    td_buf_t b = TD_BUF_INIT;
    raw_header(&b, HDR);
    raw_record(&b, "[1]", 3, 3);
    raw_record(&b, "[2", 2, 3); /* the writer died inside this one */
    write_zst(path, b.data, b.len);
    td_rec_reader_t *r = td_rec_reader_open(path, err, sizeof err);
    assert_non_null(r);
    td_rec_frame_t f;
    assert_int_equal(td_rec_reader_next(r, &f), TD_REC_FRAME);
    assert_int_equal(td_rec_reader_next(r, &f), TD_ETORN);
    assert_non_null(strstr(td_rec_reader_error(r), "torn tail after 1 records"));
    assert_non_null(strstr(td_rec_reader_error(r), "15 bytes of an incomplete record"));
    td_rec_reader_free(r);
    td_buf_free(&b);
}

static void a_torn_block_ends_the_file(void **state)
{
    (void)state;
    td_recdir_t *d = open_dir(0);
    td_rec_t *w = td_recdir_stream(d, "alpaca", "ws://h/v2/iex");
    char buf[128];
    for (int i = 0; i < 300; i++) {
        size_t n = frame_text(buf, sizeof buf, i);
        td_rec_frame(w, buf, n, T0 + i, 0);
        if (i % 10 == 9) td_recdir_flush(d); /* blocks of 10 records */
    }
    td_recdir_close(d);
    char names[2][512], err[256];
    assert_int_equal(files(names, 2), 1);
    struct stat sb;
    assert_int_equal(stat(names[0], &sb), 0);
    assert_int_equal(truncate(names[0], sb.st_size * 2 / 3), 0);
    td_rec_reader_t *r = td_rec_reader_open(names[0], err, sizeof err);
    assert_non_null(r);
    td_rec_frame_t f;
    int n = 0;
    int rc;
    while ((rc = td_rec_reader_next(r, &f)) == TD_REC_FRAME) {
        size_t len = frame_text(buf, sizeof buf, n);
        assert_int_equal(f.len, len);
        assert_memory_equal(f.data, buf, len);
        n++;
    }
    assert_int_equal(rc, TD_ETORN);
    assert_true(n >= 100 && n < 300);
    assert_int_equal(n % 10, 0);                              /* up to the last complete flush */
    assert_int_equal(td_rec_reader_next(r, &f), TD_ECORRUPT); /* and stays ended */
    td_rec_reader_free(r);
}

/* What a process killed right after a flush leaves: every frame up to the
 * flush is readable from the open file. state: the zstd workers. */
static void a_flush_makes_everything_readable(void **state)
{
    td_recdir_t *d = open_dir_workers(0, (int)(intptr_t)*state);
    td_rec_t *w = td_recdir_stream(d, "alpaca", "ws://h/v2/iex");
    char buf[128], names[2][512], err[256];
    int total = 0;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 20000; i++, total++) { /* ~1 MB: past a 512 KiB job */
            size_t n = frame_text(buf, sizeof buf, total);
            td_rec_frame(w, buf, n, T0 + total, 0);
        }
        td_recdir_flush(d);
        assert_int_equal(files(names, 2), 1);
        td_rec_reader_t *r = td_rec_reader_open(names[0], err, sizeof err);
        assert_non_null(r);
        td_rec_frame_t f;
        int got = 0;
        while (td_rec_reader_next(r, &f) == TD_REC_FRAME)
            got++;
        assert_int_equal(got, total);
        td_rec_reader_free(r);
    }
    td_recdir_close(d);
}

static void corrupt_files_are_refused_with_a_reason(void **state)
{
    (void)state;
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/bad%s", dir, TD_REC_SUFFIX);
    FILE *f = fopen(path, "wb");
    fputs("not zstd", f);
    fclose(f);
    assert_null(td_rec_reader_open(path, err, sizeof err));
    assert_non_null(strstr(err, "not a tickerd recording (not zstd: "));

    write_zst(path, "PLAIN TEXT, NOT A RECORDING", 27);
    assert_null(td_rec_reader_open(path, err, sizeof err));
    assert_non_null(strstr(err, "not a tickerd recording"));

    td_buf_t b = TD_BUF_INIT;
    raw_header(&b, "{\"vendor\":\"alpaca\"}"); /* no path */
    write_zst(path, b.data, b.len);
    assert_null(td_rec_reader_open(path, err, sizeof err));
    assert_non_null(strstr(err, "unusable header"));

    td_buf_reset(&b);
    raw_header(&b, HDR);
    raw_record(&b, "x", 1, 0x7fffffff); /* a length no recorder writes */
    write_zst(path, b.data, b.len);
    td_rec_reader_t *r = td_rec_reader_open(path, err, sizeof err);
    assert_non_null(r);
    td_rec_frame_t fr;
    assert_int_equal(td_rec_reader_next(r, &fr), TD_ECORRUPT);
    assert_non_null(strstr(td_rec_reader_error(r), "corrupt"));
    td_rec_reader_free(r);
    td_buf_free(&b);
    unlink(path);
}

static void url_paths(void **state)
{
    (void)state;
    char p[64];
    td_rec_url_path("wss://socket.polygon.io/stocks", p, sizeof p);
    assert_string_equal(p, "/stocks");
    td_rec_url_path("ws://127.0.0.1:8765", p, sizeof p);
    assert_string_equal(p, "/");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(frames_read_back_byte_for_byte, setup, teardown),
        cmocka_unit_test_prestate_setup_teardown(frames_read_back_byte_for_byte, setup, teardown,
                                                 (void *)(intptr_t)1),
        cmocka_unit_test_setup_teardown(a_new_file_each_utc_hour, setup, teardown),
        cmocka_unit_test_setup_teardown(the_oldest_files_go_past_max_gb, setup, teardown),
        cmocka_unit_test_setup_teardown(a_torn_record_ends_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(a_torn_block_ends_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(a_flush_makes_everything_readable, setup, teardown),
        cmocka_unit_test_prestate_setup_teardown(a_flush_makes_everything_readable, setup, teardown,
                                                 (void *)(intptr_t)1),
        cmocka_unit_test_setup_teardown(corrupt_files_are_refused_with_a_reason, setup, teardown),
        cmocka_unit_test(url_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
