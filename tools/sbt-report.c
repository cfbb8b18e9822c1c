/* sbt-report: grid results and benchmark JSON -> report.md, report.html and gnuplot plots. */
#include <getopt.h>
#include <stdio.h>

#include "sbt/report.h"
#include "tool_common.h"

static const char *const TOOL = "sbt-report";

static void usage(void) {
    printf(
        "Usage: %s RESULTS.json... -o DIR [--gnuplot PROGRAM]\n"
        "Turn grid results (reports/paper_grid_*.json), benchmark JSON (sbt-bench and the peers in bench/,\n"
        "Google Benchmark format) and packed-size JSON ({\"encodings\": [{model, encoding, bytes}]}) into\n"
        "DIR/report.md, a self-contained DIR/report.html and PNG + SVG plots in DIR/plots/ (gnuplot):\n"
        "metric vs keep (dense vs SBT, seed spread), storage per model (log scale), MACs per attention\n"
        "variant (exact vs paper convention) and forward latency of every run.\n\n"
        "  -o, --output DIR   the report folder (created if missing)\n"
        "  --gnuplot PROGRAM  the gnuplot to run (gnuplot from PATH)\n"
        "  -h, --help         this help      -V, --version   the version\n\n"
        "Example:\n"
        "  %s reports/paper_grid_classify.json bench.json -o report/\n",
        TOOL, TOOL);
}

int main(int argc, char **argv) {
    static const struct option opts[] = {{"output", required_argument, 0, 'o'},
                                         {"gnuplot", required_argument, 0, 'g'},
                                         {"help", no_argument, 0, 'h'},
                                         {"version", no_argument, 0, 'V'},
                                         {0, 0, 0, 0}};
    const char *out = NULL, *gnuplot = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "o:hV", opts, NULL)) != -1) {
        switch (opt) {
        case 'o': out = optarg; break;
        case 'g': gnuplot = optarg; break;
        case 'h': usage(); return TOOL_EXIT_OK;
        case 'V': tool_print_version(TOOL); return TOOL_EXIT_OK;
        default: return tool_usage_hint(TOOL);
        }
    }
    if (!out) return tool_usage_error(TOOL, "no output folder: give -o DIR");
    if (optind == argc) return tool_usage_error(TOOL, "no input files");
    sbt_report *r = NULL;
    if (sbt_report_new(&r)) return tool_fail_lib(TOOL);
    int rc = TOOL_EXIT_OK;
    for (int i = optind; !rc && i < argc; i++)
        if (sbt_report_add_file(r, argv[i])) rc = tool_fail_lib(TOOL);
    if (!rc && sbt_report_render(r, out, gnuplot)) rc = tool_fail_lib(TOOL);
    if (!rc) {
        int grid, bench, packed;
        sbt_report_counts(r, &grid, &bench, &packed);
        printf("report: %s/report.md and %s/report.html (%d grid rows, %d benchmark runs, %d packed sizes)\n",
               out, out, grid, bench, packed);
    }
    sbt_report_free(r);
    return rc;
}
