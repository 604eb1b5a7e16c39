//! PHP-style query strings (`filter[a][b][]=1`, `filter[a][b][0]=1`, percent-encoded or not) parsed into a tree (amocrm-api-v4.md §1.4).

/// One node of the parsed query: a value or an ordered map of children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A plain value.
    Leaf(String),
    /// Bracketed children in the order they first appeared; `[]` children get the keys `0`, `1`, ….
    Map(Vec<(String, Node)>),
}

impl Node {
    /// The child under `key`, if this is a map that has one.
    pub fn child(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(children) => children.iter().find(|(k, _)| k == key).map(|(_, n)| n),
            Node::Leaf(_) => None,
        }
    }

    /// The children of a map (empty for a leaf).
    pub fn children(&self) -> &[(String, Node)] {
        match self {
            Node::Map(children) => children,
            Node::Leaf(_) => &[],
        }
    }

    /// The value of a leaf.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Leaf(s) => Some(s),
            Node::Map(_) => None,
        }
    }

    /// All values: the leaf itself, or the leaf children of a map (`x[]=1&x[]=2`, `x[0]=1`).
    pub fn values(&self) -> Vec<&str> {
        match self {
            Node::Leaf(s) => vec![s.as_str()],
            Node::Map(children) => children.iter().filter_map(|(_, n)| n.as_str()).collect(),
        }
    }

    /// All values that parse as integers; others are dropped.
    pub fn ints(&self) -> Vec<i64> {
        self.values()
            .into_iter()
            .filter_map(|v| v.trim().parse().ok())
            .collect()
    }

    /// A `{from, to}` range; `None` when the node has neither bound.
    pub fn range(&self) -> Option<Range> {
        let bound = |key| {
            self.child(key)
                .and_then(Node::as_str)
                .and_then(|v| v.trim().parse::<i64>().ok())
        };
        let range = Range {
            from: bound("from"),
            to: bound("to"),
        };
        (range.from.is_some() || range.to.is_some()).then_some(range)
    }

    fn insert(&mut self, path: &[String], value: String) {
        if !matches!(self, Node::Map(_)) {
            *self = Node::Map(Vec::new());
        }
        let Node::Map(children) = self else {
            unreachable!("just made a map")
        };
        let key = if path[0].is_empty() {
            children.len().to_string()
        } else {
            path[0].clone()
        };
        let rest = &path[1..];
        let position = children.iter().position(|(k, _)| *k == key);
        if rest.is_empty() {
            match position {
                Some(i) => children[i].1 = Node::Leaf(value),
                None => children.push((key, Node::Leaf(value))),
            }
        } else {
            let i = position.unwrap_or_else(|| {
                children.push((key, Node::Map(Vec::new())));
                children.len() - 1
            });
            children[i].1.insert(rest, value);
        }
    }
}

/// An inclusive integer range; either end may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Lower bound, inclusive.
    pub from: Option<i64>,
    /// Upper bound, inclusive.
    pub to: Option<i64>,
}

impl Range {
    /// Whether `value` lies inside; a missing value never matches.
    pub fn contains(&self, value: Option<i64>) -> bool {
        match value {
            None => false,
            Some(v) => self.from.is_none_or(|f| v >= f) && self.to.is_none_or(|t| v <= t),
        }
    }
}

/// A parsed query string.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
    root: Vec<(String, Node)>,
}

impl Query {
    /// Parses a raw query string (without the `?`).
    pub fn parse(raw: Option<&str>) -> Query {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut root = Node::Map(Vec::new());
        for (key, value) in &pairs {
            let path = split_key(key);
            if !path[0].is_empty() {
                root.insert(&path, value.clone());
            }
        }
        let Node::Map(root) = root else {
            unreachable!("root is a map")
        };
        Query { pairs, root }
    }

    /// The node at a bracket path, e.g. `["filter", "statuses"]`.
    pub fn get(&self, path: &[&str]) -> Option<&Node> {
        let (first, rest) = path.split_first()?;
        let mut node = self.root.iter().find(|(k, _)| k == first).map(|(_, n)| n)?;
        for key in rest {
            node = node.child(key)?;
        }
        Some(node)
    }

    /// A top-level plain value such as `page` or `with`.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(&[key]).and_then(Node::as_str)
    }

    /// The comma-separated `with` list.
    pub fn with(&self) -> Vec<&str> {
        self.str("with")
            .map(|w| {
                w.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether `with` names `item`.
    pub fn has_with(&self, item: &str) -> bool {
        self.with().contains(&item)
    }

    /// The decoded pairs in their original order (to rebuild `_links`).
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The first `order[field]=asc|desc` whose field is in `allowed`, as (field, descending).
    pub fn order(&self, allowed: &[&str]) -> Option<(String, bool)> {
        self.get(&["order"])?
            .children()
            .iter()
            .find_map(|(field, node)| {
                let direction = node.as_str()?.to_ascii_lowercase();
                let descending = match direction.as_str() {
                    "asc" => false,
                    "desc" => true,
                    _ => return None,
                };
                allowed
                    .contains(&field.as_str())
                    .then(|| (field.clone(), descending))
            })
    }
}

/// Splits `a[b][][c]` into `["a", "b", "", "c"]`.
fn split_key(key: &str) -> Vec<String> {
    let Some(open) = key.find('[') else {
        return vec![key.to_owned()];
    };
    let mut path = vec![key[..open].to_owned()];
    let mut rest = &key[open..];
    while let Some(stripped) = rest.strip_prefix('[') {
        let Some(close) = stripped.find(']') else {
            break;
        };
        path.push(stripped[..close].to_owned());
        rest = &stripped[close + 1..];
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_bracket_forms_and_encoding_give_the_same_tree() {
        let a = Query::parse(Some("filter[id][]=1&filter[id][]=2"));
        let b = Query::parse(Some("filter%5Bid%5D%5B0%5D=1&filter%5Bid%5D%5B1%5D=2"));
        assert_eq!(a.get(&["filter", "id"]).unwrap().ints(), vec![1, 2]);
        assert_eq!(a.get(&["filter", "id"]), b.get(&["filter", "id"]));
    }

    #[test]
    fn nested_status_pairs_and_ranges() {
        let q = Query::parse(Some(
            "filter[statuses][0][pipeline_id]=7&filter[statuses][0][status_id]=142&filter[closed_at][from]=10&order[id]=desc",
        ));
        let statuses = q.get(&["filter", "statuses"]).unwrap().children();
        assert_eq!(statuses.len(), 1);
        assert_eq!(
            statuses[0].1.child("status_id").unwrap().as_str(),
            Some("142")
        );
        let range = q.get(&["filter", "closed_at"]).unwrap().range().unwrap();
        assert!(range.contains(Some(10)) && !range.contains(Some(9)));
        assert_eq!(q.order(&["id"]), Some(("id".to_owned(), true)));
    }
}
