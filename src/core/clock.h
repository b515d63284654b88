/* SPDX-License-Identifier: Apache-2.0 */
/* Time helpers: wall-clock nanoseconds and RFC 3339 with nanoseconds. */
#ifndef TD_CORE_CLOCK_H
#define TD_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

int64_t td_now_ns(void);   /* CLOCK_REALTIME, ns since the epoch */
uint64_t td_mono_ms(void); /* CLOCK_MONOTONIC, ms */

#define TD_RFC3339_MAX 40

/* Formats `ns` (UTC) like Go's RFC3339Nano: trailing zeros of the fraction
 * trimmed, no fraction if it is zero. Returns the length written (no NUL
 * counted; `out` must hold TD_RFC3339_MAX bytes). */
size_t td_rfc3339_format(char *out, int64_t ns);

/* a / b rounded towards minus infinity (b != 0). */
int64_t td_floor_div(int64_t a, int64_t b);

/* Civil dates (proleptic Gregorian, H. Hinnant's algorithms): days since
 * 1970-01-01 of y-m-d, and back. */
int64_t td_days_from_civil(int64_t y, int m, int d);
void td_civil_from_days(int64_t days, int *y, int *m, int *d);
/* Parses exactly "YYYY-MM-DD" (n bytes, a real calendar day) into days since
 * 1970-01-01. Returns 0, or -1 for anything else. */
int td_date_parse(const char *s, size_t n, int64_t *days);
/* The day number of the nth (1-based) Sunday of month m of year y (US
 * daylight saving: second Sunday of March to first Sunday of November). */
int64_t td_nth_sunday(int64_t y, int m, int nth);

/* Parses "YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z" (also a numeric "+HH:MM" offset).
 * Returns 0 and sets *ns, or -1 if the text is not such a timestamp. */
int td_rfc3339_parse(const char *s, size_t n, int64_t *ns);

#endif
