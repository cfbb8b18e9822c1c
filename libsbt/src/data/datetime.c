/* datetime.c - the date-time stamps of forecasting CSVs as comparable integers.
 *
 * Times are seconds since 1970-01-01 00:00:00 of a proleptic Gregorian calendar with
 * no time zone and no leap seconds. The arithmetic is done by hand (days from civil
 * date, H. Hinnant's algorithm) rather than with timegm()/mktime(): timegm is not
 * standard C and mktime applies the local time zone and its DST gaps, which would make
 * stamps such as "2016-03-27 02:00" ambiguous or missing depending on the machine.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sbt/forecast.h"

/* Days since 1970-01-01 of y-m-d (m 1..12), valid for any year in range. */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, int m) {
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* Reads 1..max_digits decimal digits at *p; returns the digit count (0 if none) and
 * advances *p. More digits than max_digits count as a failure (-1). */
static int read_number(const char **p, int max_digits, int *value) {
    int n = 0, v = 0;
    while (isdigit((unsigned char)**p)) {
        if (++n > max_digits) return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *value = v;
    return n;
}

/* Three numbers separated by one `sep` character each: "a<sep>b<sep>c". Returns the
 * digit counts through na/nb/nc, or 0 when the shape does not match. */
static int read_triple(const char **p, char sep, int *a, int *na, int *b, int *nb, int *c, int *nc) {
    const char *q = *p;
    if ((*na = read_number(&q, 4, a)) <= 0 || *q++ != sep) return 0;
    if ((*nb = read_number(&q, 4, b)) <= 0 || *q++ != sep) return 0;
    if ((*nc = read_number(&q, 4, c)) <= 0) return 0;
    *p = q;
    return 1;
}

/* The date part: YYYY-MM-DD, YYYY/M/D or M/D/YYYY (years always four digits, so the
 * two slash orders cannot be confused). */
static int parse_date(const char **p, int *y, int *m, int *d) {
    int a, b, c, na, nb, nc;
    const char *q = *p;
    if (read_triple(&q, '-', &a, &na, &b, &nb, &c, &nc)) {
        if (na != 4 || nb > 2 || nc > 2) return 0;
        *y = a, *m = b, *d = c;
    } else if (q = *p, read_triple(&q, '/', &a, &na, &b, &nb, &c, &nc)) {
        if (na == 4 && nb <= 2 && nc <= 2)
            *y = a, *m = b, *d = c;
        else if (nc == 4 && na <= 2 && nb <= 2)
            *y = c, *m = a, *d = b;
        else
            return 0;
    } else {
        return 0;
    }
    if (*m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m)) return 0;
    *p = q;
    return 1;
}

/* The time part: H:MM or H:MM:SS (hour one or two digits, minutes and seconds two). */
static int parse_time(const char **p, int *hh, int *mm, int *ss) {
    const char *q = *p;
    int n = read_number(&q, 2, hh);
    if (n <= 0 || *q++ != ':' || read_number(&q, 2, mm) != 2) return 0;
    *ss = 0;
    if (*q == ':') {
        q++;
        if (read_number(&q, 2, ss) != 2) return 0;
    }
    if (*hh > 23 || *mm > 59 || *ss > 59) return 0;
    *p = q;
    return 1;
}

sbt_status sbt_datetime_parse(const char *text, int64_t *seconds) {
    *seconds = 0;
    if (!text) return sbt_fail(SBT_ERR_ARG, "date: no text");
    const char *p = text;
    while (*p == ' ' || *p == '\t') p++;
    int y, m, d, hh = 0, mm = 0, ss = 0;
    int ok = parse_date(&p, &y, &m, &d);
    /* A date alone means midnight; otherwise one space or a 'T' before the time. */
    if (ok && (*p == ' ' || *p == 'T')) {
        p++;
        ok = parse_time(&p, &hh, &mm, &ss);
    }
    while (ok && (*p == ' ' || *p == '\t')) p++;
    if (!ok || *p)
        return sbt_fail(SBT_ERR_PARSE,
                        "'%.64s' is not a date (expected YYYY-MM-DD HH:MM[:SS], M/D/YYYY H:MM or "
                        "YYYY/M/D H:MM)",
                        text);
    *seconds = days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
    return SBT_OK;
}

void sbt_datetime_format(int64_t seconds, char *buf, size_t cap) {
    int64_t days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
    int64_t rest = seconds - days * 86400, y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(buf, cap, "%04" PRId64 "-%02d-%02d %02d:%02d:%02d", y, m, d, (int)(rest / 3600),
             (int)(rest / 60 % 60), (int)(rest % 60));
}
