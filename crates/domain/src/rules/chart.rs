//! Chart building for `GET /results/chart/<pk>` (docs/contract.md §4.4).
//!
//! The web UI's plot view reads `metrics[].name` (names ending in `_val` are validation series),
//! `metrics[].series[].{value,name}` and `conf_mat`. The reference answered 400 when the stored
//! metrics were null, lists, or lacked a key; here every shape gives a chart (decisions.md item 20):
//!
//! * `train_metrics` that is not a JSON object (missing, null, a list, a number …) gives no series;
//! * for each key of `train_metrics`, in stored order, one series named after the key; its points
//!   are the list elements numbered from 1 (a non-list value gives a one-point series, `null` an
//!   empty one);
//! * when `val_metrics` is a non-empty object, each training series is followed by a series named
//!   `<key>_val` built the same way from `val_metrics[key]` (empty when the key is missing);
//! * `conf_mat` is the stored confusion matrix, or `null`.

use serde::Serialize;
use serde_json::Value;

/// The chart of one training result: its metric series and its confusion matrix.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Chart {
    /// One series per training metric, each followed by its `_val` series when validation
    /// metrics exist.
    pub metrics: Vec<ChartSeries>,
    /// The stored confusion matrix (any JSON, usually a list of lists), or `null`.
    pub conf_mat: Value,
}

/// One named series of a chart.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChartSeries {
    /// Metric name, e.g. `loss` or `loss_val`.
    pub name: String,
    /// The points, in epoch order.
    pub series: Vec<ChartPoint>,
}

/// One point of a series.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChartPoint {
    /// The metric value as stored (usually a number).
    pub value: Value,
    /// The 1-based epoch number.
    pub name: u32,
}

/// Builds the chart of a training result from its stored metrics. Never fails.
///
/// ```
/// use kafkaml_domain::rules::build_chart;
/// use serde_json::json;
///
/// let chart = build_chart(Some(&json!({"loss": [0.5, 0.4]})), None, None);
/// assert_eq!(
///     serde_json::to_value(&chart).unwrap(),
///     json!({"metrics": [{"name": "loss", "series": [
///         {"value": 0.5, "name": 1}, {"value": 0.4, "name": 2}]}], "conf_mat": null})
/// );
/// ```
pub fn build_chart(
    train_metrics: Option<&Value>,
    val_metrics: Option<&Value>,
    confusion_matrix: Option<&Value>,
) -> Chart {
    let val = val_metrics.and_then(Value::as_object).filter(|map| !map.is_empty());
    let mut metrics = Vec::new();
    if let Some(train) = train_metrics.and_then(Value::as_object) {
        for (key, values) in train {
            metrics.push(ChartSeries { name: key.clone(), series: points(Some(values)) });
            if let Some(val) = val {
                metrics.push(ChartSeries { name: format!("{key}_val"), series: points(val.get(key)) });
            }
        }
    }
    Chart { metrics, conf_mat: confusion_matrix.cloned().unwrap_or(Value::Null) }
}

/// The points of one metric: list elements numbered from 1; `null`/missing → none; any other
/// value → a single point.
fn points(values: Option<&Value>) -> Vec<ChartPoint> {
    match values {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            (1..=u32::MAX).zip(items).map(|(name, value)| ChartPoint { value: value.clone(), name }).collect()
        }
        Some(other) => vec![ChartPoint { value: other.clone(), name: 1 }],
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use serde_json::json;

    fn chart_json(train: Option<Value>, val: Option<Value>, cm: Option<Value>) -> Value {
        serde_json::to_value(build_chart(train.as_ref(), val.as_ref(), cm.as_ref())).unwrap()
    }

    #[test]
    fn contract_example_exact_text() {
        let chart = build_chart(
            Some(&json!({"loss": [0.5, 0.4]})),
            Some(&json!({"loss": [0.6, 0.5]})),
            Some(&json!([[1, 2], [3, 4]])),
        );
        assert_eq!(
            serde_json::to_string(&chart).unwrap(),
            r#"{"metrics":[{"name":"loss","series":[{"value":0.5,"name":1},{"value":0.4,"name":2}]},{"name":"loss_val","series":[{"value":0.6,"name":1},{"value":0.5,"name":2}]}],"conf_mat":[[1,2],[3,4]]}"#
        );
        assert_eq!(
            super::super::python_json_dumps(&serde_json::to_value(&chart).unwrap()),
            r#"{"metrics": [{"name": "loss", "series": [{"value": 0.5, "name": 1}, {"value": 0.4, "name": 2}]}, {"name": "loss_val", "series": [{"value": 0.6, "name": 1}, {"value": 0.5, "name": 2}]}], "conf_mat": [[1, 2], [3, 4]]}"#
        );
    }

    #[test]
    fn several_metrics_keep_stored_order_and_interleave_val() {
        let v = chart_json(
            Some(json!({"loss": [1.0], "accuracy": [0.5, 0.7]})),
            Some(json!({"accuracy": [0.4, 0.6], "loss": [2.0]})),
            None,
        );
        let names: Vec<&str> = v["metrics"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["loss", "loss_val", "accuracy", "accuracy_val"]);
        assert_eq!(v["metrics"][3]["series"], json!([{"value": 0.4, "name": 1}, {"value": 0.6, "name": 2}]));
        assert_eq!(v["conf_mat"], Value::Null);
    }

    #[test]
    fn no_val_series_when_val_is_empty_null_missing_or_not_an_object() {
        for val in [None, Some(json!(null)), Some(json!({})), Some(json!([])), Some(json!([0.1])), Some(json!(3))] {
            let v = chart_json(Some(json!({"loss": [0.5]})), val.clone(), None);
            assert_eq!(
                v,
                json!({"metrics": [{"name": "loss", "series": [{"value": 0.5, "name": 1}]}], "conf_mat": null}),
                "val = {val:?}"
            );
        }
    }

    #[test]
    fn val_missing_a_key_gives_an_empty_series() {
        let v = chart_json(Some(json!({"loss": [0.5], "acc": [0.9]})), Some(json!({"loss": [0.6]})), None);
        assert_eq!(
            v["metrics"],
            json!([
                {"name": "loss", "series": [{"value": 0.5, "name": 1}]},
                {"name": "loss_val", "series": [{"value": 0.6, "name": 1}]},
                {"name": "acc", "series": [{"value": 0.9, "name": 1}]},
                {"name": "acc_val", "series": []}
            ])
        );
    }

    #[test]
    fn null_val_value_gives_an_empty_series() {
        let v = chart_json(Some(json!({"loss": [0.5]})), Some(json!({"loss": null})), None);
        assert_eq!(v["metrics"][1], json!({"name": "loss_val", "series": []}));
    }

    #[test]
    fn train_metrics_that_are_not_an_object_give_no_series() {
        for train in [
            None,
            Some(json!(null)),
            Some(json!([])),
            Some(json!([0.5, 0.4])),
            Some(json!(1)),
            Some(json!("loss")),
            Some(json!({})),
        ] {
            let v = chart_json(train.clone(), Some(json!({"loss": [0.6]})), Some(json!([[1]])));
            assert_eq!(v, json!({"metrics": [], "conf_mat": [[1]]}), "train = {train:?}");
        }
    }

    #[test]
    fn scalar_metric_values_give_one_point() {
        let v = chart_json(Some(json!({"loss": 0.3, "acc": null})), Some(json!({"loss": 0.4, "acc": [0.1]})), None);
        assert_eq!(
            v["metrics"],
            json!([
                {"name": "loss", "series": [{"value": 0.3, "name": 1}]},
                {"name": "loss_val", "series": [{"value": 0.4, "name": 1}]},
                {"name": "acc", "series": []},
                {"name": "acc_val", "series": [{"value": 0.1, "name": 1}]}
            ])
        );
    }

    #[test]
    fn list_elements_are_kept_as_stored() {
        let v = chart_json(Some(json!({"m": [1, null, "x"]})), None, None);
        assert_eq!(
            v["metrics"][0]["series"],
            json!([{"value": 1, "name": 1}, {"value": null, "name": 2}, {"value": "x", "name": 3}])
        );
    }

    #[test]
    fn confusion_matrix_is_passed_through() {
        assert_eq!(chart_json(None, None, None)["conf_mat"], Value::Null);
        assert_eq!(chart_json(None, None, Some(json!(null)))["conf_mat"], Value::Null);
        assert_eq!(chart_json(None, None, Some(json!([[5, 0], [1, 4]])))["conf_mat"], json!([[5, 0], [1, 4]]));
    }

    #[test]
    fn field_order_is_stable() {
        let text = serde_json::to_string(&build_chart(None, None, None)).unwrap();
        assert_eq!(text, r#"{"metrics":[],"conf_mat":null}"#);
    }
}
