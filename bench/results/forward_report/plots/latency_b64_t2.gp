set termoption noenhanced
set encoding utf8
set grid
set key outside right top
set title "Forward latency, batch 64, 2 thread(s): median of the repetitions, ours and peers"
set xlabel "model / attention variant"
set ylabel "median time per forward call (microseconds, log scale)"
set logscale y
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set datafile missing '?'
set xtics rotate by -20
$d << EOD
classify-dense/full 27616.8009 88438.3523 81274.991 867808.179
classify-dense/qkv-mask 65925.4455 24010.5709 21717.4958 1125748.21
classify-dense/step-t 19795.2789 65470.5215 83950.341 260801.148
classify-dense/self 43044.3618 40239.461 19266.5428 364133.266
classify-sbt/full 23510.2443 11808.1326 10167.9441 874784.085
classify-sbt/qkv-mask 23852.731 14633.0035 12651.0745 502111.475
classify-sbt/step-t 17625.9333 6759.78323 5710.8079 397367.814
classify-sbt/self 60208.304 6804.33364 4912.18099 681848.899
EOD
set terminal pngcairo noenhanced size 960,560 font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b64_t2.png.tmp'
plot $d using 2:xtic(1) title 'sbt (sgemm)', $d using 3 title 'sbt ternary-f32', $d using 4 title 'sbt ternary-i8', $d using 5 title 'torch'
set terminal svg noenhanced size 960,560 dynamic font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b64_t2.svg.tmp'
replot
unset output
