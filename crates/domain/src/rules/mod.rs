//! Pure rules of the control plane, free of I/O:
//!
//! * [`kwargs`] — parsing training kwargs text (`epochs=5, steps_per_epoch=1000`) as literals,
//!   never evaluating it;
//! * [`pyjson`] — JSON text formatted like Python's `json.dumps`;
//! * [`chain`] — distributed-chain expansion;
//! * [`chart`] — the chart of a training result's metrics;
//! * [`training_case`] — which of the 9 training Jobs a result gets, and its Job name.

pub mod chain;
pub mod chart;
pub mod kwargs;
pub mod pyjson;
pub mod training_case;

pub use chain::{chain_from_root, expand_chains};
pub use chart::{build_chart, Chart, ChartPoint, ChartSeries};
pub use kwargs::{kwargs_to_json, parse_kwargs, KwargsError, REFERENCE_KWARGS_PATTERN};
pub use pyjson::{parse_python_json, python_float_repr, python_json_dumps, write_python_style, PyStyle};
pub use training_case::{job_name, select_training_case, ModelRole, TrainingCase, MAX_JOB_NAME_LEN};
