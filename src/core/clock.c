/* SPDX-License-Identifier: Apache-2.0 */
#include "core/clock.h"

#include <time.h>

int64_t td_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint64_t td_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int64_t td_floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int64_t td_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = td_floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void td_civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = td_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

int64_t td_nth_sunday(int64_t y, int m, int nth)
{
    int64_t d1 = td_days_from_civil(y, m, 1);
    int64_t wd = ((d1 + 4) % 7 + 7) % 7; /* 1970-01-01 was a Thursday; 0 = Sunday */
    return d1 + (7 - wd) % 7 + 7 * (nth - 1);
}

static char *put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

size_t td_rfc3339_format(char *out, int64_t ns)
{
    int64_t secs = ns / 1000000000, frac = ns % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        secs--;
    }
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    int yi, m, d;
    td_civil_from_days(days, &yi, &m, &d);
    int64_t y = yi;
    if (y < 0) y = 0;
    if (y > 9999) y = 9999;
    char *p = out;
    p = put2(p, (int)(y / 100));
    p = put2(p, (int)(y % 100));
    *p++ = '-';
    p = put2(p, m);
    *p++ = '-';
    p = put2(p, d);
    *p++ = 'T';
    p = put2(p, (int)(sod / 3600));
    *p++ = ':';
    p = put2(p, (int)(sod / 60 % 60));
    *p++ = ':';
    p = put2(p, (int)(sod % 60));
    if (frac) {
        char digits[9];
        for (int i = 8; i >= 0; i--) {
            digits[i] = (char)('0' + frac % 10);
            frac /= 10;
        }
        int n = 9;
        while (digits[n - 1] == '0')
            n--;
        *p++ = '.';
        for (int i = 0; i < n; i++)
            *p++ = digits[i];
    }
    *p++ = 'Z';
    *p = '\0';
    return (size_t)(p - out);
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[m - 1] + (m == 2 && leap);
}

static int num(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int td_rfc3339_parse(const char *s, size_t n, int64_t *ns)
{
    int y, mo, d, h, mi, sec;
    if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':')
        return -1;
    if (num(s, 4, &y) || num(s + 5, 2, &mo) || num(s + 8, 2, &d) || num(s + 11, 2, &h) ||
        num(s + 14, 2, &mi) || num(s + 17, 2, &sec))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
        return -1;
    size_t i = 19;
    int64_t frac = 0;
    if (i < n && s[i] == '.') {
        i++;
        int digits = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (digits == 9) return -1;
            frac = frac * 10 + (s[i] - '0');
            digits++;
            i++;
        }
        if (digits == 0) return -1;
        while (digits++ < 9)
            frac *= 10;
    }
    int64_t offset = 0;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (num(s + i + 1, 2, &oh) || num(s + i + 4, 2, &om) || oh > 23 || om > 59) return -1;
        offset = (int64_t)(oh * 60 + om) * 60 * (s[i] == '+' ? 1 : -1);
        i += 6;
    } else {
        return -1;
    }
    if (i != n) return -1;
    int64_t secs = td_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
    const int64_t giga = 1000000000; /* int64 ns span 1677-09-21 to 2262-04-11 */
    if (secs > INT64_MAX / giga || secs < INT64_MIN / giga ||
        (secs == INT64_MAX / giga && frac > INT64_MAX % giga))
        return -1;
    *ns = secs * giga + frac;
    return 0;
}

int td_date_parse(const char *s, size_t n, int64_t *days)
{
    if (n != 10 || s[4] != '-' || s[7] != '-') return -1;
    int v[8], k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 4 || i == 7) continue;
        if (s[i] < '0' || s[i] > '9') return -1;
        v[k++] = s[i] - '0';
    }
    int y = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3], m = v[4] * 10 + v[5], d = v[6] * 10 + v[7],
        y2, m2, d2;
    if (m < 1 || m > 12 || d < 1 || d > 31) return -1;
    *days = td_days_from_civil(y, m, d);
    td_civil_from_days(*days, &y2, &m2, &d2);
    return y2 == y && m2 == m && d2 == d ? 0 : -1;
}
