/* fuzz_npy.c - libFuzzer target for the NumPy .npy reader (sbt_npy_read), plain and gzip.
 *
 * An input must be rejected with a message naming the file, or give a series of the
 * header's shape. The same bytes are also read gzip-compressed, since the SMD and NASA
 * arrays come as .npy.gz. Allocation is bounded by what the file holds (the reader checks
 * the header's size against the bytes present), so -rss_limit_mb catches a regression.
 * Built with -DFUZZ_SEED_MAIN it writes a seed corpus cut from the SMD and NASA arrays.
 */
#include <math.h>

#include "fuzz_util.h"
#include "sbt/anomaly.h"

static void read_one(const char *path, unsigned flags) {
    sbt_series *s = NULL;
    sbt_status st = sbt_npy_read(path, flags, &s);
    if (st != SBT_OK) {
        fuzz_expect_failure(st, s);
        if (!strstr(sbt_last_error(), path)) abort(); /* every message names the file */
        return;
    }
    if (s->steps < 1 || s->channels < 1 || s->label || s->channel_names) abort();
    for (size_t k = 0; !(flags & SBT_NPY_ALLOW_NONFINITE) && k < (size_t)s->steps * (size_t)s->channels; k++)
        if (!isfinite(s->x[k])) abort();
    sbt_series_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    unsigned flags = size & 1 ? SBT_NPY_ALLOW_NONFINITE : 0;
    read_one(fuzz_input_file(0, data, size), flags);
    /* the same bytes as a gzip member */
    uLongf cap = compressBound((uLong)size) + 32;
    unsigned char *gz = malloc(cap);
    z_stream z;
    memset(&z, 0, sizeof z);
    if (!gz || deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)size;
    z.next_out = gz;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) abort();
    size_t n = z.total_out;
    deflateEnd(&z);
    read_one(fuzz_input_file(1, gz, n), flags);
    free(gz);
    return 0;
}

#ifdef FUZZ_SEED_MAIN
/* The first rows of a real array (plain or gzip) as a small .npy with a rewritten shape. */
static int cut_npy(const char *dir, const char *name, const char *rel, int rows) {
    size_t n = 0;
    unsigned char *buf = fuzz_read_head(fuzz_data_path(rel), 1 << 16, &n);
    if (!buf) return 1;
    int bad = 1;
    if (n > 10 && memcmp(buf, "\x93NUMPY", 6) == 0 && buf[6] == 1) {
        size_t hlen = buf[8] | (size_t)buf[9] << 8, data_at = 10 + hlen;
        const char *shape = strstr((const char *)buf + 10, "'shape': (");
        long cols = 1;
        if (shape && sscanf(shape, "'shape': (%*ld, %ld)", &cols) != 1) cols = 1;
        char header[128];
        int h = snprintf(header, sizeof header,
                         "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %ld), }", rows, cols);
        while ((10 + h + 1) % 64) header[h++] = ' ';
        header[h++] = '\n';
        size_t body = (size_t)rows * (size_t)cols * 4;
        unsigned char *out = malloc(10 + (size_t)h + body);
        if (out && data_at + body <= n) {
            memcpy(out, "\x93NUMPY\x01\x00", 8);
            out[8] = (unsigned char)(h & 0xff);
            out[9] = (unsigned char)(h >> 8);
            memcpy(out + 10, header, (size_t)h);
            memcpy(out + 10 + h, buf + data_at, body);
            bad = fuzz_write_seed(dir, name, out, 10 + (size_t)h + body);
        }
        free(out);
    }
    if (bad) fprintf(stderr, "seed: %s is not a float32 .npy of format 1.0\n", rel);
    free(buf);
    return bad;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    int bad = cut_npy(argv[1], "smd.npy", "anomaly/SMD/train/machine-1-6.npy.gz", 3);
    bad |= cut_npy(argv[1], "msl.npy", "anomaly/MSL/train/C-1.npy.gz", 2);
    bad |= cut_npy(argv[1], "smap.npy", "anomaly/SMAP/test/P-1.npy.gz", 2);
    static const char v1[] =
        "\x93NUMPY\x01\x00\x3d\x00{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }"
        "   \n\x01\0\0\0\0\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff";
    bad |= fuzz_write_seed(argv[1], "i8.npy", v1, sizeof v1 - 1);
    return bad;
}
#endif
