set termoption noenhanced
set encoding utf8
set grid
set key outside right top
set title "Forward latency, batch 64, 1 thread(s): median of the repetitions, ours and peers"
set xlabel "model / attention variant"
set ylabel "median time per forward call (microseconds, log scale)"
set logscale y
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set datafile missing '?'
set xtics rotate by -20
$d << EOD
classify-dense/full 9906.29367 21908.4881 17757.4845 15899.726 34344.5264
classify-dense/qkv-mask 9469.55433 22036.209 21959.1455 21703.5395 30559.6518
classify-dense/self 5176.81076 14722.8637 13887.3721 13968.0793 22442.4388
classify-dense/step-t 6352.15763 17038.3081 15882.2291 15363.8326 30351.4636
classify-sbt/full 6088.03863 22716.2218 11804.5206 9248.09487 24379.0377
classify-sbt/qkv-mask 5844.47905 27893.0488 11799.5503 10038.345 24362.2694
classify-sbt/self 3911.46891 12312.7338 4800.92752 2363.69382 15862.3404
classify-sbt/step-t 4883.30668 17993.2712 7160.83717 4149.54319 26295.0706
EOD
set terminal pngcairo noenhanced size 960,560 font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b64_t1.png.tmp'
plot $d using 2:xtic(1) title 'ONNX Runtime', $d using 3 title 'sbt (sgemm)', $d using 4 title 'sbt ternary-f32', $d using 5 title 'sbt ternary-i8', $d using 6 title 'PyTorch'
set terminal svg noenhanced size 960,560 dynamic font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b64_t1.svg.tmp'
replot
unset output
