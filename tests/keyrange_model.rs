//! KEYRANGE against a `BTreeMap` model, through the real server: random
//! sets and deletes of binary keys (bytes 0x00, `a`, `b`, 0xFF, length 0
//! to 3, so bounds often hit keys exactly and prefixes overlap), then
//! random queries with every bound kind (`-`, `+`, `[k`, `(k`), REV,
//! LIMIT (negative offsets and counts included) and WITHVALUES. One
//! server for all cases, FLUSHALL between them.

mod common;

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

type Key = Vec<u8>;

#[derive(Debug, Clone)]
enum Lex {
    Min,
    Max,
    Incl(Key),
    Excl(Key),
}

impl Lex {
    fn arg(&self) -> Vec<u8> {
        match self {
            Lex::Min => b"-".to_vec(),
            Lex::Max => b"+".to_vec(),
            Lex::Incl(k) => [&b"["[..], k].concat(),
            Lex::Excl(k) => [&b"("[..], k].concat(),
        }
    }
}

#[derive(Debug, Clone)]
struct Query {
    min: Lex,
    max: Lex,
    rev: bool,
    limit: Option<(i64, i64)>,
    with_values: bool,
}

fn key() -> impl Strategy<Value = Key> {
    prop::collection::vec(prop::sample::select(vec![0u8, b'a', b'b', 0xff]), 0..4)
}

fn lex() -> impl Strategy<Value = Lex> {
    prop_oneof![
        1 => Just(Lex::Min),
        1 => Just(Lex::Max),
        3 => key().prop_map(Lex::Incl),
        3 => key().prop_map(Lex::Excl),
    ]
}

fn query() -> impl Strategy<Value = Query> {
    (
        lex(),
        lex(),
        any::<bool>(),
        prop::option::of((-2i64..12, -2i64..12)),
        any::<bool>(),
    )
        .prop_map(|(min, max, rev, limit, with_values)| Query {
            min,
            max,
            rev,
            limit,
            with_values,
        })
}

/// A write: Some(value) sets, None deletes.
fn writes() -> impl Strategy<Value = Vec<(Key, Option<Vec<u8>>)>> {
    prop::collection::vec(
        (
            key(),
            prop::option::weighted(0.8, prop::collection::vec(any::<u8>(), 0..4)),
        ),
        0..40,
    )
}

fn in_range(k: &[u8], min: &Lex, max: &Lex) -> bool {
    let above = match min {
        Lex::Min => true,
        Lex::Max => false,
        Lex::Incl(m) => k >= m.as_slice(),
        Lex::Excl(m) => k > m.as_slice(),
    };
    let below = match max {
        Lex::Max => true,
        Lex::Min => false,
        Lex::Incl(m) => k <= m.as_slice(),
        Lex::Excl(m) => k < m.as_slice(),
    };
    above && below
}

/// What KEYRANGE must answer, straight from the definition.
fn model(map: &BTreeMap<Key, Vec<u8>>, q: &Query) -> Vec<Vec<u8>> {
    let mut hits: Vec<(&Key, &Vec<u8>)> = map
        .iter()
        .filter(|(k, _)| in_range(k, &q.min, &q.max))
        .collect();
    if q.rev {
        hits.reverse();
    }
    if let Some((offset, count)) = q.limit {
        if offset < 0 {
            hits.clear();
        } else {
            hits = hits.into_iter().skip(offset as usize).collect();
            if count >= 0 {
                hits.truncate(count as usize);
            }
        }
    }
    hits.into_iter()
        .flat_map(|(k, v)| {
            let mut out = vec![k.clone()];
            if q.with_values {
                out.push(v.clone());
            }
            out
        })
        .collect()
}

#[test]
fn keyrange_matches_a_btreemap_model() {
    let server = common::Server::start();
    // The runner takes an `Fn`, so the connection sits in a RefCell.
    let conn = std::cell::RefCell::new(server.conn());
    let mut runner = TestRunner::new(Config {
        cases: 50,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (writes(), prop::collection::vec(query(), 1..10));
    runner
        .run(&strategy, |(writes, queries)| {
            let mut c = conn.borrow_mut();
            let c = &mut *c;
            redis::cmd("FLUSHALL")
                .query::<()>(c)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut map = BTreeMap::new();
            let mut p = redis::pipe();
            for (k, v) in &writes {
                match v {
                    Some(v) => {
                        p.cmd("SET").arg(k.as_slice()).arg(v.as_slice()).ignore();
                        map.insert(k.clone(), v.clone());
                    }
                    None => {
                        p.cmd("DEL").arg(k.as_slice()).ignore();
                        map.remove(k);
                    }
                }
            }
            p.query::<()>(c)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            for q in &queries {
                let mut cmd = redis::cmd("KEYRANGE");
                cmd.arg(q.min.arg()).arg(q.max.arg());
                if q.rev {
                    cmd.arg("REV");
                }
                if let Some((offset, count)) = q.limit {
                    cmd.arg("LIMIT").arg(offset).arg(count);
                }
                if q.with_values {
                    cmd.arg("WITHVALUES");
                }
                let got: Vec<Vec<u8>> = cmd
                    .query(c)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(got, model(&map, q), "query {:?}", q);
            }
            // The whole keyspace, both ways.
            let all: Vec<Key> = redis::cmd("KEYS")
                .arg("*")
                .query(c)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(all, map.keys().cloned().collect::<Vec<_>>());
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}
