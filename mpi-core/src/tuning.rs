//! Which algorithm a collective uses: a table read from data, not written in code.
//!
//! The built-in table is `tuning/default.conf`, whose comments are the format's documentation:
//! lines of `collective min_ranks min_bytes algorithm`, the last matching line of a collective
//! winning. `FERROMPI_COLL_TUNING=<file>` replaces the whole table; `FERROMPI_COLL_<NAME>=<alg>`
//! (`FERROMPI_COLL_ALLREDUCE=ring`) forces one algorithm for every call of that collective, so
//! tests can run each algorithm through the whole library. Both are read once, when the engine
//! starts: a malformed file or an unknown name fails `MPI_Init` with a message naming the line,
//! rather than silently running something else.
//!
//! A choice is a wish: where the algorithm cannot serve a call (see [`Algorithm::serves`]) the
//! schedule builder falls back to the collective's general algorithm, the first one listed
//! for it in [`ALGORITHMS`].

use crate::error::{fail, ErrorClass, Result};

/// The collectives with more than one algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collective {
    Bcast,
    Reduce,
    Allreduce,
    Allgather,
}

impl Collective {
    const ALL: [Collective; 4] = [Collective::Bcast, Collective::Reduce, Collective::Allreduce, Collective::Allgather];

    pub fn name(self) -> &'static str {
        match self {
            Collective::Bcast => "bcast",
            Collective::Reduce => "reduce",
            Collective::Allreduce => "allreduce",
            Collective::Allgather => "allgather",
        }
    }
}

/// The algorithms (`schedule.rs` and its submodules build them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// Binomial tree (bcast, reduce).
    Binomial,
    /// Scatter of the buffer, then a ring allgather of its pieces (van de Geijn's large bcast).
    ScatterAllgather,
    /// Recursive doubling (allreduce; allgather on power-of-two sizes).
    RecursiveDoubling,
    /// Reduce-scatter by recursive halving, then allgather by recursive doubling.
    Rabenseifner,
    /// Rabenseifner's reduce-scatter, then every piece straight to the root.
    ReduceScatterGather,
    /// Reduce-scatter and allgather around a ring (allreduce), or the allgather alone.
    Ring,
    /// Bruck's allgather: ceil(log2 p) rounds on any size, data rotated at the end.
    Bruck,
}

/// The algorithms of each collective, by their names in the table; the first is the general
/// one, which serves every call.
pub const ALGORITHMS: [(Collective, &[(&str, Algorithm)]); 4] = [
    (Collective::Bcast, &[("binomial", Algorithm::Binomial), ("scatter_allgather", Algorithm::ScatterAllgather)]),
    (Collective::Reduce, &[("binomial", Algorithm::Binomial), ("reduce_scatter_gather", Algorithm::ReduceScatterGather)]),
    (
        Collective::Allreduce,
        &[("recursive_doubling", Algorithm::RecursiveDoubling), ("rabenseifner", Algorithm::Rabenseifner), ("ring", Algorithm::Ring)],
    ),
    (
        Collective::Allgather,
        &[("ring", Algorithm::Ring), ("recursive_doubling", Algorithm::RecursiveDoubling), ("bruck", Algorithm::Bruck)],
    ),
];

fn algorithms(c: Collective) -> &'static [(&'static str, Algorithm)] {
    ALGORITHMS.iter().find(|(k, _)| *k == c).map_or(&[], |(_, a)| a)
}

fn algorithm_named(c: Collective, name: &str) -> Option<Algorithm> {
    algorithms(c).iter().find(|(n, _)| *n == name).map(|&(_, a)| a)
}

impl Algorithm {
    /// Whether this algorithm can run a call on `ranks` ranks with an op that is
    /// `commutative` (ignored for collectives without an op).
    pub fn serves(self, c: Collective, ranks: usize, commutative: bool) -> bool {
        match (c, self) {
            (Collective::Allgather, Algorithm::RecursiveDoubling) => ranks.is_power_of_two(),
            // The ring combines each piece starting at a different rank.
            (Collective::Allreduce, Algorithm::Ring) => commutative,
            _ => true,
        }
    }
}

/// One line of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rule {
    coll: Collective,
    min_ranks: usize,
    min_bytes: usize,
    alg: Algorithm,
}

/// The selection table and the forced choices (module doc).
#[derive(Clone, Debug)]
pub struct Tuning {
    rules: Vec<Rule>,
    forced: Vec<(Collective, Algorithm)>,
}

impl Default for Tuning {
    /// The built-in table, nothing forced.
    fn default() -> Tuning {
        Tuning { rules: parse(DEFAULT_TABLE).unwrap_or_default(), forced: Vec::new() }
    }
}

/// The built-in table.
pub const DEFAULT_TABLE: &str = include_str!("tuning/default.conf");

impl Tuning {
    /// The table and forced choices the environment asks for (module doc).
    pub fn from_env() -> Result<Tuning> {
        let rules = match std::env::var_os("FERROMPI_COLL_TUNING") {
            None => parse(DEFAULT_TABLE).or_else(|e| fail(ErrorClass::Intern, format!("built-in collective table: {e}")))?,
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .or_else(|e| fail(ErrorClass::Other, format!("FERROMPI_COLL_TUNING={}: {e}", path.to_string_lossy())))?;
                parse(&text).or_else(|e| fail(ErrorClass::Other, format!("FERROMPI_COLL_TUNING={}: {e}", path.to_string_lossy())))?
            }
        };
        let mut forced = Vec::new();
        for c in Collective::ALL {
            let var = format!("FERROMPI_COLL_{}", c.name().to_uppercase());
            if let Ok(name) = std::env::var(&var) {
                match algorithm_named(c, name.trim()) {
                    Some(a) => forced.push((c, a)),
                    None => return fail(ErrorClass::Other, format!("{var}={name}: {}", unknown(c, name.trim()))),
                }
            }
        }
        Ok(Tuning { rules, forced })
    }

    /// The algorithm for a call of `c` on `ranks` ranks moving `bytes` bytes with an op that is
    /// `commutative` (true where there is no op).
    pub fn choose(&self, c: Collective, ranks: usize, bytes: usize, commutative: bool) -> Algorithm {
        let general = algorithms(c)[0].1;
        let wish = match self.forced.iter().find(|(k, _)| *k == c) {
            Some(&(_, a)) => a,
            None => self.rules.iter().rev().find(|r| r.coll == c && ranks >= r.min_ranks && bytes >= r.min_bytes).map_or(general, |r| r.alg),
        };
        if wish.serves(c, ranks, commutative) {
            wish
        } else {
            general
        }
    }
}

fn unknown(c: Collective, name: &str) -> String {
    let known: Vec<&str> = algorithms(c).iter().map(|(n, _)| *n).collect();
    format!("{name:?} is not an algorithm of {} (it has: {})", c.name(), known.join(", "))
}

/// Parses a table (`tuning/default.conf` documents the format).
fn parse(text: &str) -> std::result::Result<Vec<Rule>, String> {
    let mut rules = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let at = |what: String| format!("line {}: {what}", i + 1);
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [coll, ranks, bytes, alg] = fields[..] else {
            return Err(at(format!("expected `collective min_ranks min_bytes algorithm`, got {line:?}")));
        };
        let Some(coll) = Collective::ALL.into_iter().find(|c| c.name() == coll) else {
            let known: Vec<&str> = Collective::ALL.iter().map(|c| c.name()).collect();
            return Err(at(format!("unknown collective {coll:?} (the table covers: {})", known.join(", "))));
        };
        let number = |s: &str| s.parse::<usize>().map_err(|_| at(format!("{s:?} is not a non-negative integer")));
        let (min_ranks, min_bytes) = (number(ranks)?, number(bytes)?);
        let alg = algorithm_named(coll, alg).ok_or_else(|| at(unknown(coll, alg)))?;
        rules.push(Rule { coll, min_ranks, min_bytes, alg });
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_table_parses_and_picks_by_size() {
        let t = Tuning::default();
        assert_eq!(t.rules.len(), parse(DEFAULT_TABLE).unwrap().len());
        assert_eq!(t.choose(Collective::Allreduce, 4, 8, true), Algorithm::RecursiveDoubling);
        assert_eq!(t.choose(Collective::Allreduce, 4, 1 << 20, true), Algorithm::Rabenseifner);
        assert_eq!(t.choose(Collective::Bcast, 4, 1024, true), Algorithm::Binomial);
        assert_eq!(t.choose(Collective::Bcast, 4, 1 << 20, true), Algorithm::ScatterAllgather);
        assert_eq!(t.choose(Collective::Bcast, 2, 1 << 20, true), Algorithm::Binomial);
    }

    #[test]
    fn the_last_matching_line_wins_and_unservable_choices_fall_back() {
        let rules = parse("allgather 1 0 bruck\nallgather 1 100 recursive_doubling # comment\n").unwrap();
        let t = Tuning { rules, forced: Vec::new() };
        assert_eq!(t.choose(Collective::Allgather, 4, 99, true), Algorithm::Bruck);
        assert_eq!(t.choose(Collective::Allgather, 4, 100, true), Algorithm::RecursiveDoubling);
        // Not a power of two: the general algorithm.
        assert_eq!(t.choose(Collective::Allgather, 3, 100, true), Algorithm::Ring);
        // No line for the collective: its general algorithm.
        assert_eq!(t.choose(Collective::Reduce, 3, 1 << 30, true), Algorithm::Binomial);
        let t = Tuning { rules: Vec::new(), forced: vec![(Collective::Allreduce, Algorithm::Ring)] };
        assert_eq!(t.choose(Collective::Allreduce, 3, 0, true), Algorithm::Ring);
        assert_eq!(t.choose(Collective::Allreduce, 3, 0, false), Algorithm::RecursiveDoubling);
    }

    #[test]
    fn bad_lines_are_named() {
        assert!(parse("allreduce 1 0").unwrap_err().starts_with("line 1:"));
        assert!(parse("\n\nscan 1 0 ring").unwrap_err().contains("line 3: unknown collective \"scan\""));
        assert!(parse("bcast 1 -2 binomial").unwrap_err().contains("not a non-negative integer"));
        let e = parse("bcast 1 0 ring").unwrap_err();
        assert!(e.contains("\"ring\" is not an algorithm of bcast (it has: binomial, scatter_allgather)"), "{e}");
    }
}
