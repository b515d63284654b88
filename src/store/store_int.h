/* SPDX-License-Identifier: Apache-2.0 */
/* Private to src/store: the queued operation and the backend interface.
 * Backend functions run on the worker thread (open on the caller's). */
#ifndef TD_STORE_STORE_INT_H
#define TD_STORE_STORE_INT_H

#include "store/store.h"

enum td__store_kind { TD__STORE_PAGE, TD__STORE_GRID, TD__STORE_PAGES, TD__STORE_QUIT };

typedef struct td__store_op_s {
    struct td__store_op_s *next;
    enum td__store_kind kind;
    char *job;  /* owned */
    char *page; /* owned: page key, or params_json for a grid */
    /* PAGE: owned copies */
    char *timeframe, *source;
    td_bar_t *bars;
    size_t n;
    size_t inserted; /* set by put: how many of the n bars were new */
    /* GRID */
    char *body;
    size_t body_len;
    /* PAGES result: owned arrays */
    char **pages;
    int64_t *rows;
    size_t npages, cap;
    /* result */
    int status;
    char errmsg[256];
    td_store_done_cb done_cb; /* PAGES */
    td_store_put_cb put_cb;   /* PAGE, GRID */
    td_store_page_cb page_cb;
    void *ud;
} td__store_op_t;

typedef struct td__store_backend_s {
    const char *name;
    /* Connects and creates the schema; NULL and errmsg on failure. */
    void *(*open)(const char *spec, char *err, size_t errlen);
    /* Writes ops[0..n) (PAGE and GRID ops, each with its jobs row) in ONE
     * transaction: all or none, and sets each op's `inserted` (a GRID op:
     * 1). 0, or -EIO with a message in err. */
    int (*put)(void *db, td__store_op_t *const *ops, size_t n, char *err, size_t errlen);
    /* 0 or -EIO with a message in op->errmsg. */
    int (*pages)(void *db, td__store_op_t *op);
    void (*close)(void *db);
} td__store_backend_t;

/* A transaction groups the PAGE/GRID ops queued while the previous one ran,
 * up to these bounds (one commit per group instead of one per page). */
#define TD__STORE_GROUP_OPS  64
#define TD__STORE_GROUP_BARS 262144

/* A `grid` table from before grid rows were keyed by (job, params) would
 * mix up responses of different templates: refused at open. */
#define TD__STORE_GRID_CHECK "SELECT job, params, body, fetched_at FROM grid LIMIT 0"
#define TD__STORE_OLD_GRID                                                                         \
    "table grid has an older layout (params only, no job column): rename or drop it"

extern const td__store_backend_t td__store_sqlite;
extern const td__store_backend_t td__store_pg;

/* Appends (page, rows) to op's result (copies page). */
void td__store_op_add_page(td__store_op_t *op, const char *page, int64_t rows);

#endif
