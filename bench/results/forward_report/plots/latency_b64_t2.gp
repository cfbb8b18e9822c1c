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
classify-dense/full 17059.8641 59501.574 45255.203 42876.239 1243328.22
classify-dense/qkv-mask 18745.0844 45556.786 22810.6278 23991.2208 336770.673
classify-dense/self 16275.2095 15563.5375 14798.6101 14876.9373 244247.772
classify-dense/step-t 24187.8497 17610.5307 17577.4178 16501.9296 360636.142
classify-sbt/full 12063.4052 25503.1576 14560.2098 9934.36844 203047.566
classify-sbt/qkv-mask 18008.8239 21661.3183 11299.9879 10471.0226 535329.165
classify-sbt/self 11437.1954 12992.1056 4644.37185 2400.91871 118649.859
classify-sbt/step-t 16431.4649 22321.5556 6022.281 4353.77033 127659.995
EOD
set terminal pngcairo noenhanced size 960,560 font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b64_t2.png.tmp'
plot $d using 2:xtic(1) title 'ONNX Runtime', $d using 3 title 'sbt (sgemm)', $d using 4 title 'sbt ternary-f32', $d using 5 title 'sbt ternary-i8', $d using 6 title 'PyTorch'
set terminal svg noenhanced size 960,560 dynamic font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b64_t2.svg.tmp'
replot
unset output
