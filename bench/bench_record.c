/* SPDX-License-Identifier: Apache-2.0 */
/* The recorder's and the reader's CPU cost, one core, in memory:
 *
 *   bench_record FILE.tdrec.zst [REPS [WORKERS]]
 *
 * Loads the frames of a recording, then REPS times (default 5): writes them
 * all through a recorder (WORKERS zstd threads, default 1 as tickerd run;
 * 0: compression on the caller's thread) (td_rec_frame, a flush every 200 frames as the
 * 200 ms timer would at ~1000 frames/s) into a temporary directory, and
 * reads the file back (td_rec_reader_next, then the dialect's splitter on
 * each frame, as tickerd replay does). Prints CPU ns per frame and per event
 * (CLOCK_PROCESS_CPUTIME_ID; the disk writes are page-cache writes), and
 * the longest single td_rec_frame (+ flush) call in wall time: how long the
 * loop can be held. Polygon recordings are split with td_polygon_split. */
#include "core/log.h"
#include "proto/alpaca.h"
#include "proto/polygon.h"
#include "record/record.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    char *p;
    size_t n;
    int64_t ns;
} fr_t;

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double thread_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void count_ev(void *ud, const td_event_t *ev)
{
    (void)ev;
    ++*(uint64_t *)ud;
}

/* The events of one frame, with the dialect's splitter (as tickerd replay). */
static void split(int poly, const char *p, size_t n, uint64_t *events)
{
    if (poly) {
        td_polygon_cb_t cb = {count_ev, NULL};
        td_polygon_split(TD_POLYGON_STOCKS, p, n, &cb, events, NULL);
    } else {
        td_alpaca_cb_t cb = {count_ev, NULL};
        td_alpaca_split(p, n, &cb, events, NULL);
    }
}

static void clean(const char *dir)
{
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        char p[512];
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d) closedir(d);
}

static int first_file(const char *dir, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    int found = 0;
    for (struct dirent *e; d && !found && (e = readdir(d));)
        if (strstr(e->d_name, TD_REC_SUFFIX)) {
            snprintf(out, cap, "%s/%s", dir, e->d_name);
            found = 1;
        }
    if (d) closedir(d);
    return found;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_record FILE.tdrec.zst [REPS [WORKERS]]\n");
        return 2;
    }
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    int workers = argc > 3 ? atoi(argv[3]) : 1;
    td_log_set_level(TD_LOG_WARN);
    char err[512];
    td_rec_reader_t *r = td_rec_reader_open(argv[1], err, sizeof err);
    if (!r) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    char vendor[32], url[1024];
    snprintf(vendor, sizeof vendor, "%s", td_rec_reader_info(r)->vendor);
    snprintf(url, sizeof url, "%s", td_rec_reader_info(r)->url);
    size_t n = 0, cap = 0, bytes = 0;
    fr_t *v = NULL;
    td_rec_frame_t f;
    while (td_rec_reader_next(r, &f) == TD_REC_FRAME) {
        if (n == cap) v = realloc(v, (cap = cap ? cap * 2 : 4096) * sizeof *v);
        v[n].p = malloc(f.len ? f.len : 1);
        memcpy(v[n].p, f.data, f.len);
        v[n].n = f.len;
        v[n].ns = f.ns;
        bytes += f.len;
        n++;
    }
    td_rec_reader_free(r);
    uint64_t events = 0;
    int poly = strcmp(vendor, "polygon") == 0;
    for (size_t i = 0; i < n; i++)
        split(poly, v[i].p, v[i].n, &events);
    printf("%zu frames, %llu events, %.1f MB, %.0f bytes/frame\n", n, (unsigned long long)events,
           (double)bytes / 1e6, (double)bytes / (double)n);
    char dir[] = "/tmp/bench_record.XXXXXX";
    if (!mkdtemp(dir)) return 1;
    double best_w = 1e9, best_t = 1e9, best_r = 1e9, best_rs = 1e9, max_call = 0;
    uint64_t slow_calls = 0;
    uint64_t out_bytes = 0;
    for (int rep = 0; rep < reps; rep++) {
        clean(dir);
        td_recdir_cfg_t c = {.dir = dir, .writer = "bench", .workers = workers};
        td_recdir_t *d = td_recdir_new(NULL, &c, err, sizeof err);
        td_rec_t *w = td_recdir_stream(d, vendor, url);
        double t0 = cpu_s(), th0 = thread_s();
        for (size_t i = 0; i < n; i++) {
            double c0 = mono_s();
            td_rec_frame(w, v[i].p, v[i].n, v[0].ns + (int64_t)i * 1000, 0);
            if (i % 200 == 199) td_recdir_flush(d);
            double dc = mono_s() - c0;
            if (dc > max_call) max_call = dc;
            if (dc > 100e-6) slow_calls++;
        }
        td_recdir_close(d);
        double tw = cpu_s() - t0, tt = thread_s() - th0;
        if (tt < best_t) best_t = tt;
        char file[600];
        if (!first_file(dir, file, sizeof file)) return 1;
        t0 = cpu_s();
        r = td_rec_reader_open(file, err, sizeof err);
        size_t got = 0;
        while (td_rec_reader_next(r, &f) == TD_REC_FRAME)
            got++;
        td_rec_reader_free(r);
        double tr = cpu_s() - t0;
        t0 = cpu_s();
        r = td_rec_reader_open(file, err, sizeof err);
        uint64_t ev2 = 0;
        while (td_rec_reader_next(r, &f) == TD_REC_FRAME)
            split(poly, f.data, f.len, &ev2);
        td_rec_reader_free(r);
        double trs = cpu_s() - t0;
        if (got != n || ev2 != events) {
            fprintf(stderr, "read back %zu frames, %llu events\n", got, (unsigned long long)ev2);
            return 1;
        }
        FILE *fp = fopen(file, "rb");
        fseek(fp, 0, SEEK_END);
        out_bytes = (uint64_t)ftell(fp);
        fclose(fp);
        if (tw < best_w) best_w = tw;
        if (tr < best_r) best_r = tr;
        if (trs < best_rs) best_rs = trs;
    }
    clean(dir);
    rmdir(dir);
    printf("record: %d zstd worker(s)\n", workers);
    printf(
        "record: best %.0f ns CPU/frame (all threads), %.1f ns/event, %.0f MB/s in; file %.1f MB "
        "(%.2fx)\n",
        best_w / (double)n * 1e9, best_w / (double)events * 1e9, (double)bytes / best_w / 1e6,
        (double)out_bytes / 1e6, (double)bytes / (double)out_bytes);
    printf("record: best %.0f ns CPU/frame on the calling thread (the loop), %.1f ns/event\n",
           best_t / (double)n * 1e9, best_t / (double)events * 1e9);
    printf("record: longest call (frame + flush) %.0f us; calls over 100 us: %llu of %zu\n",
           max_call * 1e6, (unsigned long long)slow_calls, n * (size_t)reps);
    printf("read:   best %.0f ns CPU/frame, %.2f M frames/s, %.0f MB/s out\n",
           best_r / (double)n * 1e9, (double)n / best_r / 1e6, (double)bytes / best_r / 1e6);
    printf("read + split: best %.2f M events/s\n", (double)events / best_rs / 1e6);
    for (size_t i = 0; i < n; i++)
        free(v[i].p);
    free(v);
    return 0;
}
