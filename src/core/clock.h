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

/* Parses "YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z" (also a numeric "+HH:MM" offset).
 * Returns 0 and sets *ns, or -1 if the text is not such a timestamp. */
int td_rfc3339_parse(const char *s, size_t n, int64_t *ns);

#endif
