set terminal pngcairo size 1400,900 font 'sans,10'
set output '/work/main/bench/results/20261201T215427Z-report/chart.png'
set multiplot layout 2,1 title 'bench/run 20261201T215427Z-report: hoist and peers on emulated networks (median of runs)'
set style data histograms; set style histogram clustered gap 1; set style fill solid 0.8 border -1
set key outside right top; set grid ytics; set xtics rotate by -30 noenhanced; set key noenhanced
set logscale y; set ylabel 'MB/s (log)'
plot '/work/main/bench/results/20261201T215427Z-report/chart.dat' using 2:xtic(1) title 'hoist', '/work/main/bench/results/20261201T215427Z-report/chart.dat' using 4:xtic(1) title 'hoist-via', '/work/main/bench/results/20261201T215427Z-report/chart.dat' using 6:xtic(1) title 'seed-after', '/work/main/bench/results/20261201T215427Z-report/chart.dat' using 8:xtic(1) title 'before', '/work/main/bench/results/20261201T215427Z-report/chart.dat' using 10:xtic(1) title 'aws-cli', '/work/main/bench/results/20261201T215427Z-report/chart.dat' using 12:xtic(1) title 'rclone', '/work/main/bench/results/20261201T215427Z-report/chart.dat' using 14:xtic(1) title 'lib-storage', '/work/main/bench/results/20261201T215427Z-report/chart.dat' using 16 title 'ideal'
unset logscale y; set ylabel '% of ideal time'; set yrange [0:*]
plot '/work/main/bench/results/20261201T215427Z-report/chart.dat' using 3:xtic(1) title 'hoist', '/work/main/bench/results/20261201T215427Z-report/chart.dat' using 5:xtic(1) title 'hoist-via', '/work/main/bench/results/20261201T215427Z-report/chart.dat' using 7:xtic(1) title 'seed-after', '/work/main/bench/results/20261201T215427Z-report/chart.dat' using 9:xtic(1) title 'before', '/work/main/bench/results/20261201T215427Z-report/chart.dat' using 11:xtic(1) title 'aws-cli', '/work/main/bench/results/20261201T215427Z-report/chart.dat' using 13:xtic(1) title 'rclone', '/work/main/bench/results/20261201T215427Z-report/chart.dat' using 15:xtic(1) title 'lib-storage'
unset multiplot
