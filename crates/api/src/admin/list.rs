//! The list page of a table: search, filters, ordering by column and pagination over the rows a
//! table gives, and the links that change one of them while keeping the others.

use std::cmp::Ordering;

use crate::admin::form::Submitted;

/// Rows per page (Django's `list_per_page`).
pub const PER_PAGE: usize = 100;

/// One cell: what is shown and how it sorts.
#[derive(Debug, Clone)]
pub struct Cell {
    /// The text shown.
    pub text: String,
    /// The number it sorts by, when it is one.
    pub number: Option<f64>,
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell { text, number: None }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell { text: text.to_owned(), number: None }
    }
}

impl From<i32> for Cell {
    fn from(n: i32) -> Self {
        Cell { text: n.to_string(), number: Some(f64::from(n)) }
    }
}

impl From<bool> for Cell {
    fn from(b: bool) -> Self {
        Cell { text: if b { "yes" } else { "no" }.to_owned(), number: Some(f64::from(u8::from(b))) }
    }
}

/// One row of a table's list.
#[derive(Debug, Clone)]
pub struct Row {
    /// The object's id.
    pub id: i32,
    /// One cell per column.
    pub cells: Vec<Cell>,
    /// The texts the search box looks in.
    pub search: Vec<String>,
    /// One value per filter of the table.
    pub facets: Vec<String>,
}

/// A filter of a list: its query parameter and label; its choices are the values the rows hold.
#[derive(Debug, Clone, Copy)]
pub struct Filter {
    /// The query parameter.
    pub key: &'static str,
    /// What the visitor reads ("status").
    pub label: &'static str,
}

/// What the visitor asked of a list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// The search text.
    pub q: String,
    /// The column to order by (1-based; negative: descending; 0: the table's order).
    pub order: i32,
    /// The page (1-based).
    pub page: usize,
    /// The chosen value of each filter, by key.
    pub facets: Vec<(String, String)>,
}

impl ListQuery {
    /// Reads `q`, `o`, `p` and the filters' keys from a query string.
    pub fn parse(query: &str, filters: &[Filter]) -> Self {
        let params = Submitted::parse(query.as_bytes());
        ListQuery {
            q: params.get("q").trim().to_owned(),
            order: params.get("o").parse().unwrap_or(0),
            page: params.get("p").parse().unwrap_or(1).max(1),
            facets: filters
                .iter()
                .filter(|f| !params.get(f.key).is_empty())
                .map(|f| (f.key.to_owned(), params.get(f.key).to_owned()))
                .collect(),
        }
    }

    /// The query string of this query with `change` applied, keeping the rest.
    pub fn link(&self, change: impl FnOnce(&mut ListQuery)) -> String {
        let mut next = self.clone();
        change(&mut next);
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if !next.q.is_empty() {
            pairs.push(("q", next.q.clone()));
        }
        for (k, v) in &next.facets {
            pairs.push((k, v.clone()));
        }
        if next.order != 0 {
            pairs.push(("o", next.order.to_string()));
        }
        if next.page > 1 {
            pairs.push(("p", next.page.to_string()));
        }
        format!("?{}", serde_urlencoded::to_string(&pairs).unwrap_or_default())
    }

    /// The parameters a search form keeps besides `q`.
    pub fn kept(&self) -> Vec<(String, String)> {
        let mut kept = self.facets.clone();
        if self.order != 0 {
            kept.push(("o".to_owned(), self.order.to_string()));
        }
        kept
    }
}

/// The rows of one page, and how many matched.
#[derive(Debug)]
pub struct Page {
    /// The rows shown.
    pub rows: Vec<Row>,
    /// How many rows matched the search and filters.
    pub matched: usize,
    /// How many pages there are.
    pub pages: usize,
}

/// Applies search, filters, order and page to `rows`.
pub fn select(mut rows: Vec<Row>, query: &ListQuery, filters: &[Filter]) -> Page {
    let needle = query.q.to_lowercase();
    rows.retain(|row| {
        let found = needle.is_empty() || row.search.iter().any(|s| s.to_lowercase().contains(&needle));
        let filtered = query.facets.iter().all(|(key, value)| {
            filters.iter().position(|f| f.key == key).is_none_or(|i| row.facets.get(i).is_some_and(|v| v == value))
        });
        found && filtered
    });
    let column = query.order.unsigned_abs() as usize;
    if column > 0 {
        let i = column - 1;
        rows.sort_by(|a, b| {
            let ordering = compare(a.cells.get(i), b.cells.get(i));
            if query.order < 0 {
                ordering.reverse()
            } else {
                ordering
            }
        });
    }
    let matched = rows.len();
    let pages = matched.div_ceil(PER_PAGE).max(1);
    let page = query.page.min(pages);
    let rows = rows.into_iter().skip((page - 1) * PER_PAGE).take(PER_PAGE).collect();
    Page { rows, matched, pages }
}

fn compare(a: Option<&Cell>, b: Option<&Cell>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => match (a.number, b.number) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            _ => a.text.to_lowercase().cmp(&b.text.to_lowercase()),
        },
        (a, b) => a.is_some().cmp(&b.is_some()),
    }
}

/// The distinct values of filter `i` among `rows`, sorted.
pub fn facet_values(rows: &[Row], i: usize) -> Vec<String> {
    let mut values: Vec<String> = rows.iter().filter_map(|r| r.facets.get(i).cloned()).collect();
    values.sort();
    values.dedup();
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i32, name: &str, status: &str) -> Row {
        Row { id, cells: vec![id.into(), name.into()], search: vec![name.to_owned()], facets: vec![status.to_owned()] }
    }

    const FILTERS: [Filter; 1] = [Filter { key: "status", label: "status" }];

    #[test]
    fn search_filter_order_and_pages() {
        let rows: Vec<Row> =
            (1..=250).map(|i| row(i, &format!("model-{i}"), if i % 2 == 0 { "even" } else { "odd" })).collect();
        let query = ListQuery::parse("q=MODEL-1&status=odd&o=-1", &FILTERS);
        let page = select(rows.clone(), &query, &FILTERS);
        // model-1, model-11..19 (odd: 11,13,15,17,19), model-101..199 odd (50)
        assert_eq!(page.matched, 1 + 5 + 50);
        assert_eq!(page.rows[0].id, 199);
        assert_eq!(page.pages, 1);
        let all = select(rows, &ListQuery::parse("p=3", &FILTERS), &FILTERS);
        assert_eq!((all.matched, all.pages, all.rows.len(), all.rows[0].id), (250, 3, 50, 201));
        assert_eq!(query.link(|q| q.page = 2), "?q=MODEL-1&status=odd&o=-1&p=2");
    }
}
