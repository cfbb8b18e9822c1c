/* npy.c - the NumPy .npy reader (plain or gzip) behind sbt_npy_read.
 *
 * The format: magic "\x93NUMPY", major/minor version bytes, a little-endian header length
 * (2 bytes in 1.0, 4 bytes in 2.0/3.0), then a Python dict literal
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (23688, 38), }
 * padded with spaces and a newline, then the raw values. The file is untrusted input, so
 * the dict is parsed by a strict little grammar (exactly the three keys, each once) rather
 * than searched for substrings, sizes are checked for overflow, and the data must be exactly
 * as long as the shape says. Memory for the values follows the bytes present: a plain file's
 * size is checked against the shape before anything is allocated, and a gzip file's values
 * are read into an array grown as they arrive (a 128-byte file claiming a huge shape costs
 * nothing).
 */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "sbt/anomaly.h"

/* NumPy itself refuses headers above 10000 bytes by default; a little more room costs nothing. */
#define NPY_MAX_HEADER (1u << 20)

typedef enum { DT_F4, DT_F8, DT_I4, DT_I8, DT_U1, DT_B1 } npy_dtype;

static const struct {
    const char *descr;
    npy_dtype type;
    size_t size;
} dtypes[] = {{"<f4", DT_F4, 4}, {"<f8", DT_F8, 8}, {"<i4", DT_I4, 4},
              {"<i8", DT_I8, 8}, {"|u1", DT_U1, 1}, {"|b1", DT_B1, 1}};

typedef struct {
    npy_dtype type;
    size_t itemsize;
    int fortran;
    int ndim;
    int64_t shape[2];
} npy_header;

typedef struct {
    const char *p, *end, *path;
} cursor;

static void skip_ws(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

/* Consumes `ch` after optional whitespace; returns 1 if it was there. */
static int accept(cursor *c, char ch) {
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static sbt_status bad_header(const cursor *c, const char *what) {
    return sbt_fail(SBT_ERR_FORMAT, "%s: malformed .npy header: %s", c->path, what);
}

/* A quoted Python string ('...' or "...") without escapes, into buf. */
static sbt_status parse_string(cursor *c, char *buf, size_t cap) {
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return bad_header(c, "expected a quoted string");
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= cap) return bad_header(c, "unexpected string");
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end) return bad_header(c, "unterminated string");
    c->p++;
    buf[n] = '\0';
    return SBT_OK;
}

static sbt_status parse_bool(cursor *c, int *out) {
    skip_ws(c);
    size_t left = (size_t)(c->end - c->p);
    if (left >= 4 && memcmp(c->p, "True", 4) == 0) {
        c->p += 4;
        *out = 1;
    } else if (left >= 5 && memcmp(c->p, "False", 5) == 0) {
        c->p += 5;
        *out = 0;
    } else {
        return bad_header(c, "fortran_order is neither True nor False");
    }
    return SBT_OK;
}

/* A non-negative decimal integer (an 'L' suffix as written by Python 2 is accepted). */
static sbt_status parse_dim(cursor *c, int64_t *out) {
    skip_ws(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9') return bad_header(c, "shape entry is not an integer");
    int64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        int d = *c->p++ - '0';
        if (v > (INT64_MAX - d) / 10) return bad_header(c, "shape entry overflows");
        v = v * 10 + d;
    }
    if (c->p < c->end && *c->p == 'L') c->p++;
    *out = v;
    return SBT_OK;
}

/* (a,) or (a, b) with an optional trailing comma; other ranks are rejected. */
static sbt_status parse_shape(cursor *c, npy_header *h) {
    if (!accept(c, '(')) return bad_header(c, "shape is not a tuple");
    h->ndim = 0;
    while (!accept(c, ')')) {
        int64_t d = 0;
        sbt_status st = parse_dim(c, &d);
        if (st != SBT_OK) return st;
        if (h->ndim == 2)
            return sbt_fail(SBT_ERR_FORMAT,
                            "%s: only 1-d and 2-d arrays are supported (shape has more "
                            "than 2 dimensions)",
                            c->path);
        h->shape[h->ndim++] = d;
        if (!accept(c, ',')) {
            if (!accept(c, ')')) return bad_header(c, "expected ',' or ')' in shape");
            break;
        }
    }
    if (h->ndim == 0) return sbt_fail(SBT_ERR_FORMAT, "%s: 0-d (scalar) arrays are not supported", c->path);
    return SBT_OK;
}

static sbt_status parse_descr(cursor *c, npy_header *h) {
    char d[32];
    sbt_status st = parse_string(c, d, sizeof d);
    if (st != SBT_OK) return st;
    for (size_t k = 0; k < sizeof dtypes / sizeof dtypes[0]; k++)
        if (strcmp(d, dtypes[k].descr) == 0) {
            h->type = dtypes[k].type;
            h->itemsize = dtypes[k].size;
            return SBT_OK;
        }
    return sbt_fail(SBT_ERR_FORMAT, "%s: unsupported dtype '%s' (supported: <f4 <f8 <i4 <i8 |u1 |b1)",
                    c->path, d);
}

/* The header dict: exactly descr, fortran_order and shape, in any order, each once. */
static sbt_status parse_header(const char *text, size_t len, const char *path, npy_header *h) {
    cursor c = {text, text + len, path};
    int seen[3] = {0, 0, 0};
    if (!accept(&c, '{')) return bad_header(&c, "does not start with '{'");
    while (!accept(&c, '}')) {
        char key[32];
        sbt_status st = parse_string(&c, key, sizeof key);
        if (st != SBT_OK) return st;
        if (!accept(&c, ':')) return bad_header(&c, "expected ':' after a key");
        int k = strcmp(key, "descr") == 0           ? 0
                : strcmp(key, "fortran_order") == 0 ? 1
                : strcmp(key, "shape") == 0         ? 2
                                                    : -1;
        if (k < 0) return sbt_fail(SBT_ERR_FORMAT, "%s: malformed .npy header: unknown key '%s'", path, key);
        if (seen[k]++)
            return sbt_fail(SBT_ERR_FORMAT, "%s: malformed .npy header: key '%s' repeated", path, key);
        st = k == 0 ? parse_descr(&c, h) : k == 1 ? parse_bool(&c, &h->fortran) : parse_shape(&c, h);
        if (st != SBT_OK) return st;
        if (!accept(&c, ',')) {
            if (!accept(&c, '}')) return bad_header(&c, "expected ',' or '}'");
            break;
        }
    }
    skip_ws(&c);
    if (c.p != c.end) return bad_header(&c, "unexpected text after the dict");
    if (!seen[0] || !seen[1] || !seen[2])
        return bad_header(&c, !seen[0]   ? "no 'descr' key"
                              : !seen[1] ? "no 'fortran_order' key"
                                         : "no 'shape' key");
    if (h->fortran)
        return sbt_fail(SBT_ERR_FORMAT,
                        "%s: fortran_order True arrays are not supported (save with C order, e.g. "
                        "np.ascontiguousarray)",
                        path);
    return SBT_OK;
}

/* Reads exactly n bytes; *got receives how many arrived before the end of the file. */
static sbt_status read_bytes(gzFile f, const char *path, void *buf, size_t n, size_t *got) {
    *got = 0;
    while (*got < n) {
        size_t want = n - *got;
        if (want > (1u << 30)) want = 1u << 30;
        int r = gzread(f, (char *)buf + *got, (unsigned)want);
        if (r < 0) {
            int err = 0;
            const char *msg = gzerror(f, &err);
            return sbt_fail(SBT_ERR_IO, "%s: read error: %s", path, err == Z_ERRNO ? strerror(errno) : msg);
        }
        if (r == 0) break;
        *got += (size_t)r;
    }
    return SBT_OK;
}

static sbt_status read_preamble(gzFile f, const char *path, npy_header *h) {
    unsigned char pre[12];
    size_t got = 0;
    sbt_status st = read_bytes(f, path, pre, 10, &got);
    if (st != SBT_OK) return st;
    if (got < 8 || memcmp(pre, "\x93NUMPY", 6) != 0)
        return sbt_fail(SBT_ERR_FORMAT, "%s: not a .npy file (bad magic)", path);
    if (pre[6] < 1 || pre[6] > 3 || pre[7] != 0)
        return sbt_fail(SBT_ERR_FORMAT, "%s: unsupported .npy format version %d.%d", path, pre[6], pre[7]);
    size_t hlen_bytes = pre[6] == 1 ? 2 : 4;
    if (pre[6] > 1) { /* 2.0 and 3.0 have a 4-byte header length */
        size_t more = 0;
        if ((st = read_bytes(f, path, pre + 10, 2, &more)) != SBT_OK) return st;
        got += more;
    }
    if (got < 8 + hlen_bytes) return sbt_fail(SBT_ERR_FORMAT, "%s: truncated .npy preamble", path);
    uint32_t hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
    if (hlen_bytes == 4) hlen |= (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
    if (hlen == 0 || hlen > NPY_MAX_HEADER)
        return sbt_fail(SBT_ERR_FORMAT, "%s: implausible .npy header length %u", path, (unsigned)hlen);
    char *text = malloc(hlen);
    if (!text) return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", path);
    st = read_bytes(f, path, text, hlen, &got);
    if (st == SBT_OK && got < hlen)
        st = sbt_fail(SBT_ERR_FORMAT, "%s: truncated .npy header (%zu of %u bytes)", path, got,
                      (unsigned)hlen);
    if (st == SBT_OK) st = parse_header(text, hlen, path, h);
    free(text);
    return st;
}

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

/* One raw little-endian value as a double, whatever the host's byte order; the bits are
 * assembled first and then copied so that unaligned data is read legally. */
static double raw_value(const unsigned char *p, npy_dtype type) {
    uint32_t u32 = type == DT_F4 ? le32(p) : 0;
    uint64_t u64 = type == DT_F8 ? le64(p) : 0;
    float f;
    double d;
    switch (type) {
    case DT_F4: memcpy(&f, &u32, 4); return f;
    case DT_F8: memcpy(&d, &u64, 8); return d;
    case DT_I4: return (double)(int32_t)le32(p);
    case DT_I8: return (double)(int64_t)le64(p);
    default: return p[0]; /* |u1 and |b1 */
    }
}

/* Converts `count` raw values into floats; `first` is the index of raw[0] in the file. */
static sbt_status convert(const unsigned char *raw, const npy_header *h, size_t count, float *dst,
                          const char *path, size_t first) {
    for (size_t i = 0; i < count; i++) {
        const unsigned char *p = raw + i * h->itemsize;
        if (h->type == DT_B1 && p[0] > 1)
            return sbt_fail(SBT_ERR_FORMAT, "%s: boolean value %d at index %zu", path, p[0], first + i);
        double v = raw_value(p, h->type);
        if (isfinite(v) && fabs(v) > FLT_MAX)
            return sbt_fail(SBT_ERR_NUMERIC, "%s: value %g at index %zu is beyond float range", path, v,
                            first + i);
        dst[i] = (float)v;
    }
    return SBT_OK;
}

/* Makes room for values [0, need) in *dst (capacity *cap), growing geometrically up to
 * `count`: memory follows the data actually read, never the header's claim alone (a
 * compressed file's length says nothing about the values it decompresses to). */
static sbt_status grow_values(const char *path, float **dst, size_t *cap, size_t need, size_t count) {
    if (need <= *cap) return SBT_OK;
    size_t c = *cap ? *cap : (1u << 16);
    while (c < need) c = c > count / 2 ? count : 2 * c;
    if (c > count) c = count;
    float *g = realloc(*dst, c * sizeof *g);
    if (!g) return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory for %zu values", path, c);
    *dst = g;
    *cap = c;
    return SBT_OK;
}

/* The values after the header, exactly `count` of them and nothing after, into a malloc'ed
 * array (*out) grown as they arrive. */
static sbt_status read_values(gzFile f, const char *path, const npy_header *h, size_t count, float **out) {
    size_t chunk = (1u << 20) / h->itemsize, cap = 0;
    unsigned char *raw = malloc(chunk * h->itemsize);
    float *dst = NULL;
    if (!raw) return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", path);
    sbt_status st = SBT_OK;
    for (size_t done = 0; done < count && st == SBT_OK;) {
        size_t n = count - done < chunk ? count - done : chunk, got = 0;
        st = read_bytes(f, path, raw, n * h->itemsize, &got);
        if (st == SBT_OK && got < n * h->itemsize)
            st = sbt_fail(SBT_ERR_FORMAT, "%s: truncated data: %zu of %zu values present", path,
                          done + got / h->itemsize, count);
        if (st == SBT_OK) st = grow_values(path, &dst, &cap, done + n, count);
        if (st == SBT_OK) st = convert(raw, h, n, dst + done, path, done);
        done += n;
    }
    size_t extra = 0;
    if (st == SBT_OK) st = read_bytes(f, path, raw, 1, &extra);
    if (st == SBT_OK && extra)
        st = sbt_fail(SBT_ERR_FORMAT, "%s: data longer than its shape (%zu values) says", path, count);
    free(raw);
    if (st != SBT_OK) free(dst);
    *out = st == SBT_OK ? dst : NULL;
    return st;
}

/* A plain (uncompressed) file must hold exactly the bytes its shape implies after the
 * header: said before anything is allocated for the values. */
static sbt_status check_plain_size(gzFile f, const char *path, const npy_header *h, size_t count) {
    struct stat sb;
    if (!gzdirect(f) || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) return SBT_OK;
    z_off_t at = gztell(f);
    uint64_t left = at >= 0 && (uint64_t)sb.st_size >= (uint64_t)at ? (uint64_t)sb.st_size - (uint64_t)at : 0;
    uint64_t need = (uint64_t)count * h->itemsize;
    if (left == need) return SBT_OK;
    return sbt_fail(SBT_ERR_FORMAT,
                    "%s: the header's shape (%lld, %lld) needs %llu bytes of data, the file holds %llu after "
                    "the header",
                    path, (long long)h->shape[0], (long long)(h->ndim == 2 ? h->shape[1] : 1),
                    (unsigned long long)need, (unsigned long long)left);
}

static sbt_status check_finite(const sbt_series *s, const char *path) {
    size_t n = (size_t)s->steps * (size_t)s->channels;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(s->x[i]))
            return sbt_fail(SBT_ERR_NUMERIC, "%s: %s at index %zu (step %zu, channel %zu)", path,
                            isnan(s->x[i]) ? "NaN" : "infinity", i, i / (size_t)s->channels,
                            i % (size_t)s->channels);
    return SBT_OK;
}

static sbt_status read_npy(gzFile f, const char *path, unsigned flags, sbt_series **out) {
    npy_header h;
    memset(&h, 0, sizeof h);
    sbt_status st = read_preamble(f, path, &h);
    if (st != SBT_OK) return st;
    int64_t rows = h.shape[0], cols = h.ndim == 2 ? h.shape[1] : 1;
    if (rows == 0 || cols == 0)
        return sbt_fail(SBT_ERR_FORMAT, "%s: empty array (shape has a zero dimension)", path);
    if (cols > INT_MAX)
        return sbt_fail(SBT_ERR_FORMAT, "%s: %lld columns is too many", path, (long long)cols);
    if (rows > INT64_MAX / cols || (uint64_t)(rows * cols) > SIZE_MAX / 8)
        return sbt_fail(SBT_ERR_FORMAT, "%s: shape (%lld, %lld) is too large", path, (long long)rows,
                        (long long)cols);
    size_t count = (size_t)(rows * cols);
    if ((st = check_plain_size(f, path, &h, count)) != SBT_OK) return st;
    sbt_series *s = calloc(1, sizeof *s);
    if (!s) return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", path);
    s->steps = rows;
    s->channels = (int)cols;
    st = read_values(f, path, &h, count, &s->x);
    if (st == SBT_OK && !(flags & SBT_NPY_ALLOW_NONFINITE)) st = check_finite(s, path);
    if (st != SBT_OK) {
        sbt_series_free(s);
        return st;
    }
    *out = s;
    return SBT_OK;
}

sbt_status sbt_npy_read(const char *path, unsigned flags, sbt_series **out) {
    *out = NULL;
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f)
        return sbt_fail(SBT_ERR_IO, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
    gzbuffer(f, 1 << 17);
    sbt_status st = read_npy(f, path, flags, out);
    gzclose(f);
    return st;
}
