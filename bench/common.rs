//! What the benchmarks share: percentiles of a set of timings.

use std::time::Duration;

/// Prints `name`, the sample count, p50, p99 and max in milliseconds.
pub fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at =
        |q: f64| samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<46} n={:<5} p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms",
        samples.len(),
        ms(at(0.50)),
        ms(at(0.99)),
        ms(*samples.last().unwrap())
    );
}
