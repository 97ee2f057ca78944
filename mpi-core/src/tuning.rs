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
//! Lines whose algorithm cannot serve a call (see [`Algorithm::serves`]) are passed over; with
//! no line left, or a forced algorithm that cannot serve it, a call uses its collective's
//! general algorithm, the first one listed for it in [`ALGORITHMS`].

use crate::error::{fail, ErrorClass, Result};

/// The collectives with more than one algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collective {
    Barrier,
    Bcast,
    Reduce,
    Allreduce,
    Allgather,
    Alltoall,
}

impl Collective {
    const ALL: [Collective; 6] =
        [Collective::Barrier, Collective::Bcast, Collective::Reduce, Collective::Allreduce, Collective::Allgather, Collective::Alltoall];

    pub fn name(self) -> &'static str {
        match self {
            Collective::Barrier => "barrier",
            Collective::Bcast => "bcast",
            Collective::Reduce => "reduce",
            Collective::Allreduce => "allreduce",
            Collective::Allgather => "allgather",
            Collective::Alltoall => "alltoall",
        }
    }
}

/// What the choice of an algorithm depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    /// Ranks in the communicator.
    pub ranks: usize,
    /// Bytes the call moves (the table's `B`: `tuning/default.conf`).
    pub bytes: usize,
    /// Whether the op is commutative (true where there is no op).
    pub commutative: bool,
    /// Whether the operand may be cut into pieces between elements: a predefined op's packed
    /// elements may, a user function's datatype span may not (true where there is no op).
    pub splittable: bool,
    /// Hosts the communicator's ranks are on.
    pub hosts: usize,
    /// Whether the call may meet on a shared-memory board: a blocking call on a communicator
    /// whose ranks share a host with shared memory (`board.rs`). False for the calls whose
    /// schedules the table chooses.
    pub board: bool,
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
    /// Bruck's allgather or alltoall: ceil(log2 p) rounds on any size, data rotated at the end.
    Bruck,
    /// Alltoall by pairwise exchange, one partner per round.
    Pairwise,
    /// Dissemination barrier.
    Dissemination,
    /// In two levels: within each host through shared memory, across hosts among one
    /// leader per host (`schedule/node_aware.rs`).
    NodeAware,
    /// Through a shared-memory board instead of messages (`board.rs`): blocking calls whose
    /// rank's share is up to `board::PAYLOAD` bytes, with a predefined op (or none).
    Board,
}

/// The algorithms of each collective, by their names in the table; the first is the general
/// one, which serves every call.
pub const ALGORITHMS: [(Collective, &[(&str, Algorithm)]); 6] = [
    (
        Collective::Barrier,
        &[("dissemination", Algorithm::Dissemination), ("node_aware", Algorithm::NodeAware), ("board", Algorithm::Board)],
    ),
    (
        Collective::Bcast,
        &[
            ("binomial", Algorithm::Binomial),
            ("scatter_allgather", Algorithm::ScatterAllgather),
            ("node_aware", Algorithm::NodeAware),
            ("board", Algorithm::Board),
        ],
    ),
    (
        Collective::Reduce,
        &[
            ("binomial", Algorithm::Binomial),
            ("reduce_scatter_gather", Algorithm::ReduceScatterGather),
            ("node_aware", Algorithm::NodeAware),
            ("board", Algorithm::Board),
        ],
    ),
    (
        Collective::Allreduce,
        &[
            ("recursive_doubling", Algorithm::RecursiveDoubling),
            ("rabenseifner", Algorithm::Rabenseifner),
            ("ring", Algorithm::Ring),
            ("node_aware", Algorithm::NodeAware),
            ("board", Algorithm::Board),
        ],
    ),
    (
        Collective::Allgather,
        &[
            ("ring", Algorithm::Ring),
            ("recursive_doubling", Algorithm::RecursiveDoubling),
            ("bruck", Algorithm::Bruck),
            ("board", Algorithm::Board),
        ],
    ),
    (Collective::Alltoall, &[("pairwise", Algorithm::Pairwise), ("bruck", Algorithm::Bruck), ("board", Algorithm::Board)]),
];

fn algorithms(c: Collective) -> &'static [(&'static str, Algorithm)] {
    ALGORITHMS.iter().find(|(k, _)| *k == c).map_or(&[], |(_, a)| a)
}

fn algorithm_named(c: Collective, name: &str) -> Option<Algorithm> {
    algorithms(c).iter().find(|(n, _)| *n == name).map(|&(_, a)| a)
}

impl Algorithm {
    /// Whether this algorithm can run `call` of `c`.
    pub fn serves(self, c: Collective, call: Call) -> bool {
        match (c, self) {
            (Collective::Allgather, Algorithm::RecursiveDoubling) => call.ranks.is_power_of_two(),
            // The ring combines each piece starting at a different rank, and the node-aware
            // reductions combine by host, not in rank order.
            (Collective::Allreduce, Algorithm::Ring) => call.commutative && call.splittable,
            (_, Algorithm::Rabenseifner | Algorithm::ReduceScatterGather) => call.splittable,
            // Two levels exist only with several hosts and several ranks on one of them.
            (_, Algorithm::NodeAware) => call.commutative && call.hosts > 1 && call.hosts < call.ranks,
            // A member's whole send buffer goes into its cell: `ranks` blocks for alltoall.
            (Collective::Alltoall, Algorithm::Board) => call.board && call.ranks > 1 && call.ranks * call.bytes <= crate::board::PAYLOAD,
            (_, Algorithm::Board) => call.board && call.ranks > 1 && call.bytes <= crate::board::PAYLOAD && call.splittable,
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

/// The selection table and the forced choices (module doc), as each collective's lines in
/// table order (a forced algorithm is the one line of its collective): a call's choice scans
/// only its own collective's few lines.
#[derive(Clone, Debug)]
pub struct Tuning {
    lines: [Vec<Rule>; Collective::ALL.len()],
}

impl Default for Tuning {
    /// The built-in table, nothing forced.
    fn default() -> Tuning {
        Tuning::new(parse(DEFAULT_TABLE).unwrap_or_default(), &[])
    }
}

/// The built-in table.
pub const DEFAULT_TABLE: &str = include_str!("tuning/default.conf");

impl Tuning {
    fn new(rules: Vec<Rule>, forced: &[(Collective, Algorithm)]) -> Tuning {
        let mut lines: [Vec<Rule>; Collective::ALL.len()] = Default::default();
        for r in rules {
            lines[r.coll as usize].push(r);
        }
        for &(coll, alg) in forced {
            lines[coll as usize] = vec![Rule { coll, min_ranks: 0, min_bytes: 0, alg }];
        }
        Tuning { lines }
    }

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
        Ok(Tuning::new(rules, &forced))
    }

    /// The algorithm for `call` of `c`: the last of its lines that matches and whose
    /// algorithm serves the call; the general algorithm where none does.
    pub fn choose(&self, c: Collective, call: Call) -> Algorithm {
        self.lines[c as usize]
            .iter()
            .rev()
            .find(|r| call.ranks >= r.min_ranks && call.bytes >= r.min_bytes && r.alg.serves(c, call))
            .map_or(algorithms(c)[0].1, |r| r.alg)
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

    fn call(ranks: usize, bytes: usize) -> Call {
        Call { ranks, bytes, commutative: true, splittable: true, hosts: 1, board: false }
    }

    #[test]
    fn the_built_in_table_parses_and_picks_by_size() {
        let t = Tuning::default();
        assert_eq!(t.lines.iter().map(Vec::len).sum::<usize>(), parse(DEFAULT_TABLE).unwrap().len());
        assert_eq!(t.choose(Collective::Allreduce, call(4, 8)), Algorithm::RecursiveDoubling);
        assert_eq!(t.choose(Collective::Allreduce, call(4, 1 << 20)), Algorithm::Rabenseifner);
        assert_eq!(t.choose(Collective::Allreduce, call(2, 1 << 20)), Algorithm::Ring);
        // A user op's operand is not cut into pieces.
        assert_eq!(t.choose(Collective::Allreduce, Call { splittable: false, ..call(4, 1 << 20) }), Algorithm::RecursiveDoubling);
        assert_eq!(t.choose(Collective::Reduce, call(8, 1 << 20)), Algorithm::ReduceScatterGather);
        assert_eq!(t.choose(Collective::Reduce, Call { splittable: false, ..call(8, 1 << 20) }), Algorithm::Binomial);
        assert_eq!(t.choose(Collective::Reduce, call(4, 1 << 20)), Algorithm::Binomial);
        assert_eq!(t.choose(Collective::Bcast, call(4, 1024)), Algorithm::Binomial);
        assert_eq!(t.choose(Collective::Bcast, call(4, 1 << 20)), Algorithm::Binomial);
        assert_eq!(t.choose(Collective::Bcast, call(8, 1 << 20)), Algorithm::ScatterAllgather);
        assert_eq!(t.choose(Collective::Bcast, call(2, 1 << 20)), Algorithm::Binomial);
        // Small blocking calls on one host meet on a board; larger ones, user ops and
        // nonblocking calls use messages.
        let blocking = |ranks, bytes| Call { board: true, ..call(ranks, bytes) };
        assert_eq!(t.choose(Collective::Allreduce, blocking(4, 8)), Algorithm::Board);
        assert_eq!(t.choose(Collective::Barrier, blocking(2, 0)), Algorithm::Board);
        assert_eq!(t.choose(Collective::Bcast, blocking(3, crate::board::PAYLOAD)), Algorithm::Board);
        assert_eq!(t.choose(Collective::Allreduce, blocking(4, crate::board::PAYLOAD + 8)), Algorithm::Rabenseifner);
        assert_eq!(t.choose(Collective::Reduce, Call { splittable: false, ..blocking(2, 8) }), Algorithm::Binomial);
        assert_eq!(t.choose(Collective::Barrier, blocking(1, 0)), Algorithm::Dissemination);
        assert_eq!(t.choose(Collective::Alltoall, blocking(4, 1024)), Algorithm::Board);
        assert_eq!(t.choose(Collective::Alltoall, blocking(4, 1025)), Algorithm::Pairwise);
    }

    #[test]
    fn the_last_matching_line_wins_and_unservable_choices_fall_back() {
        let rules = parse("allgather 1 0 bruck\nallgather 1 100 recursive_doubling # comment\n").unwrap();
        let t = Tuning::new(rules, &[]);
        assert_eq!(t.choose(Collective::Allgather, call(4, 99)), Algorithm::Bruck);
        assert_eq!(t.choose(Collective::Allgather, call(4, 100)), Algorithm::RecursiveDoubling);
        // Not a power of two: the last line that serves.
        assert_eq!(t.choose(Collective::Allgather, call(3, 100)), Algorithm::Bruck);
        // No line for the collective: its general algorithm.
        assert_eq!(t.choose(Collective::Reduce, call(3, 1 << 30)), Algorithm::Binomial);
        let t = Tuning::new(parse("bcast 1 0 node_aware").unwrap(), &[(Collective::Allreduce, Algorithm::Ring)]);
        // Two levels need several hosts and several ranks on one.
        assert_eq!(t.choose(Collective::Bcast, Call { hosts: 2, ..call(4, 0) }), Algorithm::NodeAware);
        assert_eq!(t.choose(Collective::Bcast, Call { hosts: 4, ..call(4, 0) }), Algorithm::Binomial);
        assert_eq!(t.choose(Collective::Bcast, call(4, 0)), Algorithm::Binomial);
        assert_eq!(t.choose(Collective::Allreduce, call(3, 0)), Algorithm::Ring);
        assert_eq!(t.choose(Collective::Allreduce, Call { commutative: false, ..call(3, 0) }), Algorithm::RecursiveDoubling);
    }

    #[test]
    fn bad_lines_are_named() {
        assert!(parse("allreduce 1 0").unwrap_err().starts_with("line 1:"));
        assert!(parse("\n\nscan 1 0 ring").unwrap_err().contains("line 3: unknown collective \"scan\""));
        assert!(parse("bcast 1 -2 binomial").unwrap_err().contains("not a non-negative integer"));
        let e = parse("bcast 1 0 ring").unwrap_err();
        assert!(e.contains("\"ring\" is not an algorithm of bcast (it has: binomial, scatter_allgather, node_aware, board)"), "{e}");
    }
}
