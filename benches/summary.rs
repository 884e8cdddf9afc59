//! The summary of a benchmark run: reads the results the other bench binaries of this suite
//! wrote (`<dir>/<bench>.tsv`, one `key, value, unit, label` line each) and the machine's
//! description (`<dir>/machine.tsv`, `key, value`), checks the goals, and writes the table as
//! Markdown for the book.
//!
//! `scripts/bench-summary.sh` runs it as `cargo bench --bench summary -- <dir> <out.md>`.
//! Without those two arguments (as under `cargo bench -- --test`) it has nothing to do.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One measured value.
#[derive(Clone, Debug)]
struct Value {
    value: f64,
    unit: String,
    label: String,
}

/// Everything one run measured, by key, and per bench in the order written.
#[derive(Default)]
struct Results {
    values: BTreeMap<String, Value>,
    benches: Vec<(String, Vec<String>)>,
    machine: BTreeMap<String, String>,
}

impl Results {
    fn read(dir: &Path) -> Result<Self, String> {
        let mut results = Self::default();
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name == "machine" {
                for line in text.lines() {
                    if let Some((key, value)) = line.split_once('\t') {
                        results.machine.insert(key.to_owned(), value.to_owned());
                    }
                }
                continue;
            }
            let mut keys = Vec::new();
            for line in text.lines().filter(|l| !l.is_empty()) {
                let fields: Vec<&str> = line.split('\t').collect();
                let [key, value, unit, label] = fields[..] else {
                    return Err(format!("{}: malformed line `{line}`", path.display()));
                };
                let value: f64 = value
                    .parse()
                    .map_err(|e| format!("{}: `{value}` is not a number: {e}", path.display()))?;
                results.values.insert(
                    key.to_owned(),
                    Value {
                        value,
                        unit: unit.to_owned(),
                        label: label.to_owned(),
                    },
                );
                keys.push(key.to_owned());
            }
            results.benches.push((name, keys));
        }
        Ok(results)
    }

    fn get(&self, key: &str) -> Option<f64> {
        self.values
            .get(key)
            .map(|v| v.value)
            .filter(|v| v.is_finite())
    }

    /// `numerator / denominator` when both were measured.
    fn ratio(&self, numerator: &str, denominator: &str) -> Option<f64> {
        Some(self.get(numerator)? / self.get(denominator)?)
    }

    fn machine(&self, key: &str) -> &str {
        self.machine.get(key).map_or("unknown", String::as_str)
    }
}

/// Which way a goal points.
#[derive(Clone, Copy)]
enum Bound {
    AtLeast,
    AtMost,
}

/// One goal and what was measured for it.
struct Goal {
    what: String,
    measured: Option<f64>,
    target: f64,
    bound: Bound,
    unit: &'static str,
    /// Why, if missed: facts from the run.
    why: String,
}

impl Goal {
    fn met(&self) -> Option<bool> {
        let m = self.measured?;
        Some(match self.bound {
            Bound::AtLeast => m >= self.target,
            Bound::AtMost => m <= self.target,
        })
    }

    /// How far off a missed goal is, in percent of the goal.
    fn shortfall(&self) -> Option<f64> {
        let m = self.measured?;
        Some(match self.bound {
            Bound::AtLeast => (self.target - m) / self.target * 100.0,
            Bound::AtMost => (m - self.target) / self.target * 100.0,
        })
    }

    /// How far off a missed goal is: in percent, or as a factor when far off.
    fn miss(&self) -> String {
        match (self.shortfall(), self.measured) {
            (Some(short), Some(m)) if short > 50.0 && m > 0.0 => match self.bound {
                Bound::AtLeast => format!("{:.0} times below the goal", self.target / m),
                Bound::AtMost => format!("{:.0} times above the goal", m / self.target),
            },
            (Some(short), _) => format!("{short:.0}% off the goal"),
            _ => "not measured".to_owned(),
        }
    }

    fn show(&self, value: f64) -> String {
        match self.unit {
            "x" => format!("{value:.2}x"),
            "ns" => format!("{value:.1} ns"),
            "B" => format!("{value:.0} B"),
            "/s" => format!("{} /s", thousands(value)),
            other => format!("{value:.2} {other}"),
        }
    }
}

/// `1234567.8` as `1 234 568`.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    if value < 0.0 {
        out.insert(0, '-');
    }
    out
}

/// A duration in nanoseconds, in the unit that reads best.
fn duration(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.1} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{:.3} ms", ns / 1e6)
    }
}

fn show_value(v: &Value) -> String {
    match v.unit.as_str() {
        "ns" => duration(v.value),
        "" => thousands(v.value),
        "events/s" | "updates/s" => format!("{} /s", thousands(v.value)),
        "B" | "bit" => format!("{} {}", thousands(v.value), v.unit),
        unit => format!("{:.1} {unit}", v.value),
    }
}

const BACKENDS: [(&str, &str); 2] = [("awslc", "aws-lc-rs"), ("rustcrypto", "RustCrypto rsa")];

fn goals(r: &Results) -> Vec<Goal> {
    let mut goals = Vec::new();
    for (key, name) in BACKENDS {
        let mint = r.get(&format!("mint.{key}.ns"));
        let raw = r.get(&format!("raw_sign.{key}.ns"));
        goals.push(Goal {
            what: format!("mint speed / raw signing speed, {name}"),
            measured: r.ratio(&format!("raw_sign.{key}.ns"), &format!("mint.{key}.ns")),
            target: 0.95,
            bound: Bound::AtLeast,
            unit: "x",
            why: match (mint, raw, r.get("encode.ns")) {
                (Some(m), Some(s), Some(e)) => format!(
                    "the mint took {} more than the {} signature, while everything it does \
                     besides signing (claims, JSON, base64url) measured {} on its own",
                    duration(m - s),
                    duration(s),
                    duration(e)
                ),
                _ => String::new(),
            },
        });
    }
    let jwt = r.get("jwt_held.awslc.ns");
    let raw = r.get("raw_sign.awslc.ns");
    goals.push(Goal {
        what: "mint speed / jsonwebtoken speed (aws-lc-rs, key held)".to_owned(),
        measured: r.ratio("jwt_held.awslc.ns", "mint.awslc.ns"),
        target: 2.5,
        bound: Bound::AtLeast,
        unit: "x",
        why: match (jwt, raw) {
            (Some(j), Some(s)) => format!(
                "jsonwebtoken signs with the same aws-lc-rs and parses the key on every call: it \
                 costs {} against {} for the raw signature, so even a mint that cost nothing \
                 but the signature could be at most {:.2}x faster; the parse it saves is {:.0}% \
                 of a signature",
                duration(j),
                duration(s),
                j / s,
                (j - s) / s * 100.0
            ),
            _ => String::new(),
        },
    });
    goals.push(Goal {
        what: "cached token lookup".to_owned(),
        measured: r.get("cache_fresh.ns"),
        target: 50.0,
        bound: Bound::AtMost,
        unit: "ns",
        why: String::new(),
    });
    for (key, name) in BACKENDS {
        let verify = r.get(&format!("verify.{key}.ns"));
        let raw = r.get(&format!("raw_verify.{key}.ns"));
        goals.push(Goal {
            what: format!("verify speed / raw verify speed, {name}"),
            measured: r.ratio(&format!("raw_verify.{key}.ns"), &format!("verify.{key}.ns")),
            target: 0.9,
            bound: Bound::AtLeast,
            unit: "x",
            why: match (verify, raw, r.get("decode.ns")) {
                (Some(v), Some(s), Some(d)) => format!(
                    "the work around the signature check costs {} against {} for the check \
                     itself; decoding the token (base64url, strict JSON of header and claims, \
                     typed claims) measured {} on its own",
                    duration(v - s),
                    duration(s),
                    duration(d)
                ),
                _ => String::new(),
            },
        });
    }
    goals.push(Goal {
        what: "100-recipient batch: BatchBuilder speed / serde_json speed".to_owned(),
        measured: r.ratio("batch100.serde.ns", "batch100.builder.ns"),
        target: 5.0,
        bound: Bound::AtLeast,
        unit: "x",
        why: String::new(),
    });
    let e2e = |run: &str, what: &str| r.get(&format!("e2e.{run}.saturated.{what}"));
    let subscriptions = |run: &str| {
        r.get(&format!("e2e.{run}.subscriptions"))
            .unwrap_or(f64::NAN)
    };
    let per_batch_ms = |subs: &str| -> Option<f64> {
        let updates = e2e(subs, "updates")?;
        let rate = e2e(subs, "updates_per_s")?;
        let batches = e2e(subs, "batches")?;
        Some(batches.recip() * updates / rate * 1e3)
    };
    goals.push(Goal {
        what: format!(
            "badge updates per second end to end ({} subscriptions)",
            thousands(subscriptions("large"))
        ),
        measured: e2e("large", "updates_per_s"),
        target: 100_000.0,
        bound: Bound::AtLeast,
        unit: "/s",
        why: match (
            per_batch_ms("large"),
            per_batch_ms("small"),
            e2e("large", "updates"),
            e2e("large", "batches"),
            e2e("small", "updates_per_s"),
        ) {
            (Some(big), Some(small), Some(updates), Some(batches), Some(small_rate)) => format!(
                "the proxy sends one batch per tenant at a time (the engine's default) of at \
                 most 100 recipients ({:.0} on average here), and each accepted batch took \
                 {big:.1} ms with {} subscriptions against {small:.1} ms with {} ({} /s); \
                 before it answers each batch the local cloud reads its whole device registry \
                 file back, writes it anew as pretty JSON ({} at the end of the large run) and \
                 syncs it to disk, so its cost per batch grows with the registry; 100 000 updates/s would need a batch of 100 \
                 every millisecond. The engine alone, with a cloud that answers at once, \
                 turns {} changes per second into badge updates (the spread case of the \
                 coalescing benchmark)",
                updates / batches,
                thousands(subscriptions("large")),
                thousands(subscriptions("small")),
                thousands(small_rate),
                r.get("e2e.large.registry_bytes").map_or_else(
                    || "size unknown".to_owned(),
                    |b| format!("{:.1} MB", b / 1e6)
                ),
                r.get("coalescing.spread.events_per_s")
                    .map_or_else(|| "(not measured)".to_owned(), thousands),
            ),
            _ => String::new(),
        },
    });
    for n in [100_000u64, 1_000_000] {
        for (kind, name) in [
            ("estimate", "engine estimate"),
            ("counted", "counting allocator"),
        ] {
            goals.push(Goal {
                what: format!(
                    "memory per subscription, {} subscriptions, {name}",
                    thousands(n as f64)
                ),
                measured: r.get(&format!("memory.{n}.{kind}")),
                target: 256.0,
                bound: Bound::AtMost,
                unit: "B",
                why: String::new(),
            });
        }
    }
    goals
}

/// Ratios worth seeing beside the goals: what, and the two keys whose quotient it is (speeds,
/// so the slower side's time is the numerator).
const OTHERS: [(&str, &str, &str); 9] = [
    (
        "mint speed / jsonwebtoken speed (aws-lc-rs, key per call)",
        "jwt_per_call.awslc.ns",
        "mint.awslc.ns",
    ),
    (
        "mint speed, RustCrypto rsa / jsonwebtoken speed (aws-lc-rs, key held)",
        "jwt_held.rustcrypto.ns",
        "mint.rustcrypto.ns",
    ),
    (
        "signing speed, aws-lc-rs / RustCrypto rsa",
        "raw_sign.rustcrypto.ns",
        "raw_sign.awslc.ns",
    ),
    (
        "verifying speed, aws-lc-rs / RustCrypto rsa",
        "raw_verify.rustcrypto.ns",
        "raw_verify.awslc.ns",
    ),
    (
        "1-recipient batch: BatchBuilder speed / serde_json speed",
        "batch1.serde.ns",
        "batch1.builder.ns",
    ),
    (
        "1000-recipient batch: BatchBuilder speed / serde_json speed",
        "batch1000.serde.ns",
        "batch1000.builder.ns",
    ),
    (
        "100-recipient batch: copy speed / BatchBuilder speed",
        "batch100.builder.ns",
        "batch100.copy.ns",
    ),
    (
        "100-recipient batch: parse_batch speed / untyped serde_json::Value speed",
        "parse100.value.ns",
        "parse100.ns",
    ),
    (
        "engine: changes absorbed per second (hot) / changes each published (spread)",
        "coalescing.hot.events_per_s",
        "coalescing.spread.events_per_s",
    ),
];

fn render(r: &Results) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "<!-- Written by scripts/bench-summary.sh from one run of the benchmarks; do not edit. -->\n"
    );
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(md, "| date | {} |", r.machine("date"));
    let _ = writeln!(md, "| machine | {} |", r.machine("machine"));
    let _ = writeln!(md, "| CPU | {} |", r.machine("cpu"));
    let _ = writeln!(md, "| cores, memory | {} |", r.machine("cores"));
    let _ = writeln!(md, "| toolchain | {} |", r.machine("rustc"));
    let bits = r
        .get("key.bits")
        .map_or_else(|| "unknown".to_owned(), |b| format!("RSA-{b:.0}"));
    let _ = writeln!(md, "| key | {bits}, RS256 (RSASSA-PKCS1-v1_5, SHA-256) |");
    let _ = writeln!(md, "| load average | {} |", r.machine("load"));
    let _ = writeln!(md);
    if let Some(note) = r.machine.get("load_note") {
        let _ = writeln!(md, "{note}\n");
    }
    let clocks: Vec<f64> = r
        .values
        .iter()
        .filter(|(key, _)| key.starts_with("clock."))
        .map(|(_, v)| v.value)
        .collect();
    let cpu = !clocks.is_empty() && clocks.iter().all(|&c| c == 1.0);
    let _ = writeln!(
        md,
        "Each ratio compares two things measured by the same binary in turn, slice after slice, \
         for several rounds (the median of each side is kept), so that both see the same \
         machine load.{} Speeds are the inverse of the time per operation. The end-to-end \
         figures are wall-clock time.\n",
        if cpu {
            " The micro-benchmarks count the measuring thread's time on a CPU (the kernel's own \
             count), so time spent waiting for a core while other work ran is left out."
        } else {
            ""
        }
    );

    let _ = writeln!(md, "### Goals\n");
    let _ = writeln!(md, "| goal | measured | target | met |\n|---|---|---|---|");
    let goals = goals(r);
    for goal in &goals {
        let measured = goal
            .measured
            .map_or_else(|| "not measured".to_owned(), |m| goal.show(m));
        let target = match goal.bound {
            Bound::AtLeast => format!(">= {}", goal.show(goal.target)),
            Bound::AtMost => format!("<= {}", goal.show(goal.target)),
        };
        let met = match goal.met() {
            Some(true) => "yes".to_owned(),
            Some(false) => format!("no: {}", goal.miss()),
            None => "-".to_owned(),
        };
        let _ = writeln!(md, "| {} | {measured} | {target} | {met} |", goal.what);
    }
    let missed: Vec<&Goal> = goals
        .iter()
        .filter(|g| g.met() == Some(false) && !g.why.is_empty())
        .collect();
    if !missed.is_empty() {
        let _ = writeln!(
            md,
            "\nWhere a goal is missed, by how much and why (from this run's numbers):\n"
        );
        for goal in missed {
            let _ = writeln!(md, "- **{}**: {}; {}.", goal.what, goal.miss(), goal.why);
        }
    }

    let _ = writeln!(md, "\n### Other ratios from the same run\n");
    let _ = writeln!(md, "| comparison | ratio |\n|---|---|");
    for (what, numerator, denominator) in OTHERS {
        if let Some(ratio) = r.ratio(numerator, denominator) {
            let _ = writeln!(md, "| {what} | {ratio:.2}x |");
        }
    }

    let _ = writeln!(md, "\n### Every number of the run\n");
    for (bench, keys) in &r.benches {
        let _ = writeln!(md, "**{bench}**\n");
        let _ = writeln!(md, "| measurement | value |\n|---|---|");
        for key in keys.iter().filter(|k| !k.starts_with("clock.")) {
            if let Some(v) = r.values.get(key) {
                let _ = writeln!(md, "| {} | {} |", v.label, show_value(v));
            }
        }
        let _ = writeln!(md);
    }
    md
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let [dir, out] = &args[..] else {
        println!("summary: nothing to summarise (give a results directory and an output file)");
        return;
    };
    let results = match Results::read(Path::new(dir)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("summary: {e}");
            std::process::exit(1);
        }
    };
    let markdown = render(&results);
    println!("{markdown}");
    if let Err(e) = std::fs::write(out, &markdown) {
        eprintln!("summary: cannot write {out}: {e}");
        std::process::exit(1);
    }
}
