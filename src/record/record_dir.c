/* SPDX-License-Identifier: Apache-2.0 */
/* The recording directory: file names, and the size bound (the oldest
 * files go first; a file a writer has open is never deleted). */
#include "core/clock.h"
#include "core/mem.h"
#include "record/record_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int td__rec_create(td_rec_t *r, int64_t ns)
{
    int64_t days = td_floor_div(ns, 86400000000000LL);
    int64_t secs = td_floor_div(ns, 1000000000LL) - days * 86400;
    int y, m, dd;
    td_civil_from_days(days, &y, &m, &dd);
    for (int n = 0; n < 100; n++) {
        char suffix[16] = "";
        if (n) snprintf(suffix, sizeof suffix, "-%d", n);
        char *name = NULL;
        size_t len = strlen(r->d->dir) + strlen(r->vendor) + strlen(r->slug) + 64;
        name = td_xmalloc(len);
        snprintf(name, len, "%s/%s_%s_%04d%02d%02dT%02d%02d%02dZ%s%s", r->d->dir, r->vendor,
                 r->slug, y, m, dd, (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60),
                 suffix, TD_REC_SUFFIX);
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) {
            free(r->file);
            r->file = name;
            return fd;
        }
        int e = errno;
        if (e != EEXIST) {
            TD_ERR("record: cannot create %s: %s (retrying in 10 s)", name, strerror(e));
            free(name);
            return -1;
        }
        free(name);
    }
    TD_ERR("record: cannot create a file in %s: 100 names taken", r->d->dir);
    return -1;
}

typedef struct {
    char *name;
    int64_t mtime_ns;
    uint64_t size;
} entry_t;

static int by_age(const void *a, const void *b)
{
    const entry_t *x = a, *y = b;
    if (x->mtime_ns != y->mtime_ns) return x->mtime_ns < y->mtime_ns ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int is_open(const td_recdir_t *d, const char *path)
{
    for (const td_rec_t *r = d->recs; r; r = r->next)
        if (r->fd >= 0 && r->file && strcmp(r->file, path) == 0) return 1;
    return 0;
}

static size_t list(td_recdir_t *d, entry_t **out, uint64_t *total)
{
    DIR *dir = opendir(d->dir);
    size_t n = 0, cap = 0, sl = strlen(TD_REC_SUFFIX);
    entry_t *v = NULL;
    *total = 0;
    if (!dir) return 0;
    for (struct dirent *e; (e = readdir(dir));) {
        size_t len = strlen(e->d_name);
        if (len <= sl || strcmp(e->d_name + len - sl, TD_REC_SUFFIX) != 0) continue;
        size_t plen = strlen(d->dir) + len + 2;
        char *path = td_xmalloc(plen);
        snprintf(path, plen, "%s/%s", d->dir, e->d_name);
        struct stat sb;
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            free(path);
            continue;
        }
        if (n == cap) v = td_xrealloc(v, (cap = cap ? cap * 2 : 16) * sizeof *v);
        v[n].name = path;
        v[n].mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
        v[n].size = (uint64_t)sb.st_size;
        *total += v[n].size;
        n++;
    }
    closedir(dir);
    *out = v;
    return n;
}

void td__recdir_prune(td_recdir_t *d)
{
    d->since_prune = 0;
    if (!d->max_bytes) return;
    entry_t *v = NULL;
    uint64_t total;
    size_t n = list(d, &v, &total);
    if (n) qsort(v, n, sizeof *v, by_age);
    for (size_t i = 0; i < n && total > d->max_bytes; i++) {
        if (is_open(d, v[i].name)) continue;
        if (unlink(v[i].name) != 0) {
            TD_WARN("record: cannot delete %s: %s", v[i].name, strerror(errno));
            continue;
        }
        total -= v[i].size;
        d->st.deleted++;
        TD_INFO("record: deleted %s (%.1f MB) to stay under --record-max-gb (%.1f GB left)",
                v[i].name, (double)v[i].size / 1e6, (double)total / 1e9);
    }
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}
