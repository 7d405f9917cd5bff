set terminal pngcairo size 1200,500 noenhanced
set output 'fleet.png'
set datafile separator ','
set multiplot layout 1,2
set title 'Throughput'
set xlabel 'second'
set ylabel 'MB/s'
set grid
set key off
plot 'fleet.csv' skip 1 using 1:2 with lines lw 2
set title 'Request latency CDF'
set xlabel 'ms'
set ylabel 'fraction'
set logscale x
set key bottom right
plot 'fleet-latency.csv' skip 1 using (strcol(1) eq 'HeadObject' ? $2 : NaN):3 with lines lw 2 title 'HeadObject', 'fleet-latency.csv' skip 1 using (strcol(1) eq 'UploadPart' ? $2 : NaN):3 with lines lw 2 title 'UploadPart', 'fleet-latency.csv' skip 1 using (strcol(1) eq 'PutObject' ? $2 : NaN):3 with lines lw 2 title 'PutObject', 'fleet-latency.csv' skip 1 using (strcol(1) eq 'CompleteMultipartUpload' ? $2 : NaN):3 with lines lw 2 title 'CompleteMultipartUpload', 'fleet-latency.csv' skip 1 using (strcol(1) eq 'CreateMultipartUpload' ? $2 : NaN):3 with lines lw 2 title 'CreateMultipartUpload'
unset multiplot
