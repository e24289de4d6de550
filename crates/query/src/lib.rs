//! The tracehouse query language.
//!
//! One language for spans and logs: a superset of Highlight's `key:value` search
//! syntax with trace-structure queries in the spirit of TraceQL. This crate holds the
//! whole front end and the backend-neutral plan:
//!
//! * [`lexer`] — tokens with byte spans;
//! * [`parser`] — recursive descent to the [`ast`], with [`ParseError`]s that point at
//!   the offending characters and say what was expected;
//! * [`print`] — `Display` for the AST giving canonical text that parses back to the
//!   same tree;
//! * [`plan`] — resolves keys and types values into the [`Filter`] IR plus an optional
//!   [`Structure`] evaluated per trace;
//! * [`eval`] — the in-memory reference evaluator over any [`SpanView`].
//!
//! ```
//! use tracehouse_query::{parse, plan, Filter};
//!
//! let q = parse("service:cart duration>250ms").unwrap();
//! let p = plan(&q);
//! assert!(p.structure.is_none());
//! assert!(matches!(p.pushdown, Filter::And(_)));
//!
//! let q = parse("{service:frontend} >> {db.system:postgresql duration>100ms}").unwrap();
//! let p = plan(&q);
//! assert!(p.structure.is_some()); // evaluated on candidate traces
//! assert!(matches!(p.pushdown, Filter::Or(_))); // finds the candidates
//! ```
//!
//! See the crate README for the grammar.

pub mod ast;
pub mod error;
pub mod eval;
pub mod lexer;
pub mod parser;
pub mod plan;
pub mod print;
pub mod traceql;

pub use ast::Query;
pub use error::ParseError;
pub use eval::{AttrValue, SpanView, eval_plan, eval_structure, matches};
pub use parser::{MAX_DEPTH, MAX_GROUP_KEYS, MAX_TERMS, parse};
pub use plan::{
    CmpOp, Field, Filter, Intrinsic, Pattern, Plan, PlanStage, Relation, RelationMode, Scope,
    Structure, Target, Value, plan, plan_for,
};
