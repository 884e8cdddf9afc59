//! What every benchmark binary of the root suite shares: the quick test mode, the interleaved
//! timing pass that the summary's ratios come from, and the results file it is written to.
//!
//! Criterion measures one function after the other. On a machine shared with other work, the
//! load can change between the two sides of a ratio, so the ratios in the summary come from a
//! second pass instead: every side is timed for a short slice, round after round, in turn, and
//! each side's median over the rounds is kept. Both sides of a ratio then see the same load,
//! and the time counted is the thread's time on a CPU, not the time it waited for one.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// The environment variable naming the directory the results are written to (set by
/// `scripts/bench-summary.sh`). Without it, results are only printed.
pub const OUT_ENV: &str = "PUSHPROXY_BENCH_OUT";

/// Whether the binary runs in quick test mode (`cargo bench -- --test`): everything runs once,
/// on tiny inputs, and nothing is timed.
pub fn test_mode() -> bool {
    std::env::args().any(|arg| arg == "--test")
}

/// Whether the interleaved pass should run: when the summary script asked for results and
/// this is not a test run.
pub fn ratios_wanted() -> bool {
    std::env::var_os(OUT_ENV).is_some() && !test_mode()
}

/// One side of a comparison: a name and the work of one iteration.
pub struct Side<'a> {
    pub name: &'static str,
    pub run: Box<dyn FnMut() + 'a>,
}

impl<'a> Side<'a> {
    pub fn new(name: &'static str, run: impl FnMut() + 'a) -> Self {
        Self {
            name,
            run: Box::new(run),
        }
    }
}

/// The time this thread has spent on a CPU, in nanoseconds, from the scheduler's own count
/// (`/proc/thread-self/schedstat`, Linux). The count can lag by one scheduler tick.
pub fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Whether [`interleaved`] measures on-CPU time (else wall-clock time).
pub fn cpu_clock() -> bool {
    thread_cpu_ns().is_some_and(|ns| ns > 0)
}

/// Times `sides` in turn for `rounds` rounds of about `slice` each and returns each side's
/// median time per iteration in nanoseconds, in the order given.
///
/// The time is the thread's on-CPU time where the system reports it ([`cpu_clock`]): on a
/// machine shared with other work, time spent waiting for a core is not the code's cost. Each
/// slice is long enough (`slice`) that the scheduler's tick of lag is a small part of it.
pub fn interleaved(rounds: usize, slice: Duration, sides: &mut [Side<'_>]) -> Vec<f64> {
    let cpu = cpu_clock();
    // Warm up and calibrate: how many iterations fill one slice.
    let iterations: Vec<u64> = sides
        .iter_mut()
        .map(|side| {
            let mut n = 1u64;
            loop {
                let start = Instant::now();
                for _ in 0..n {
                    (side.run)();
                }
                let elapsed = start.elapsed();
                if elapsed >= slice / 4 || n >= 1 << 30 {
                    let per = elapsed.as_secs_f64() / n as f64;
                    break ((slice.as_secs_f64() / per).ceil() as u64).max(1);
                }
                n *= 4;
            }
        })
        .collect();
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); sides.len()];
    for _ in 0..rounds {
        for (index, side) in sides.iter_mut().enumerate() {
            let n = iterations[index];
            let (wall, on_cpu) = (Instant::now(), thread_cpu_ns());
            for _ in 0..n {
                (side.run)();
            }
            let elapsed = match (cpu, on_cpu, thread_cpu_ns()) {
                (true, Some(before), Some(after)) => after.saturating_sub(before) as f64,
                _ => wall.elapsed().as_nanos() as f64,
            };
            samples[index].push(elapsed / n as f64);
        }
    }
    samples.into_iter().map(median).collect()
}

/// Runs `f` once per iteration while keeping its result alive, for [`Side::new`].
pub fn keep<T>(mut f: impl FnMut() -> T) -> impl FnMut() {
    move || {
        black_box(f());
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The results of one benchmark binary: `key`, value, unit and a label for people, one line
/// each. Printed at the end, and written to `$PUSHPROXY_BENCH_OUT/<name>.tsv` when set.
pub struct Report {
    name: &'static str,
    lines: Vec<(String, f64, &'static str, String)>,
}

impl Report {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            lines: Vec::new(),
        }
    }

    pub fn add(
        &mut self,
        key: impl Into<String>,
        value: f64,
        unit: &'static str,
        label: impl Into<String>,
    ) {
        self.lines.push((key.into(), value, unit, label.into()));
    }

    /// Records which clock [`interleaved`] used.
    pub fn add_clock(&mut self) {
        let key = format!("clock.{}", self.name);
        self.add(
            key,
            f64::from(u8::from(cpu_clock())),
            "",
            "interleaved pass timed in on-CPU time (1) or wall-clock time (0)",
        );
    }

    /// Prints the results and writes the results file if asked for.
    pub fn finish(self) {
        let mut text = String::new();
        println!();
        println!("{} results:", self.name);
        for (key, value, unit, label) in &self.lines {
            println!("  {label:<64} {value:>14.2} {unit}");
            // Tabs and newlines cannot occur in keys or labels written by these benches.
            let _ = writeln!(text, "{key}\t{value}\t{unit}\t{label}");
        }
        if let Some(dir) = std::env::var_os(OUT_ENV) {
            let dir = std::path::PathBuf::from(dir);
            let path = dir.join(format!("{}.tsv", self.name));
            if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, text))
            {
                eprintln!("could not write {}: {e}", path.display());
                std::process::exit(1);
            }
        }
    }
}
