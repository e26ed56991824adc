//! The SVG charts lblab writes, read back strictly so that the tests of `compare` and `run --html`
//! can hold what is drawn against the JSON.

use std::collections::BTreeMap;

/// An element of the SVG: its name and attributes.
#[derive(Debug)]
pub struct Element {
    pub name: String,
    pub attrs: BTreeMap<String, String>,
}

/// A strict reading of the SVG lblab writes: every tag well formed, every attribute `name="value"`
/// once, every element closed in order, one root `svg`. Panics on anything else.
pub fn parse_svg(svg: &str) -> Vec<Element> {
    let mut out = Vec::new();
    let mut open: Vec<String> = Vec::new();
    let mut rest = svg.trim();
    assert!(
        rest.starts_with("<svg "),
        "not an svg: {}",
        &rest[..40.min(rest.len())]
    );
    while let Some(lt) = rest.find('<') {
        let text = &rest[..lt];
        assert!(!text.contains('>'), "stray '>' in text {text:?}");
        let gt = rest[lt..].find('>').expect("an unclosed tag") + lt;
        let tag = &rest[lt + 1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(
                open.pop().as_deref(),
                Some(name),
                "</{name}> closes nothing open"
            );
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let (name, mut a) = tag.split_once(' ').unwrap_or((tag, ""));
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric()),
            "tag {name:?}"
        );
        let mut attrs = BTreeMap::new();
        loop {
            a = a.trim_start();
            if a.is_empty() {
                break;
            }
            let eq = a
                .find("=\"")
                .unwrap_or_else(|| panic!("attribute without =\"…\": {a}"));
            let key = &a[..eq];
            assert!(
                key.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':'),
                "attribute name {key:?}"
            );
            let end = a[eq + 2..].find('"').expect("unterminated attribute") + eq + 2;
            let value = &a[eq + 2..end];
            assert!(!value.contains('<'), "{key}={value:?}");
            assert!(
                attrs.insert(key.to_string(), value.to_string()).is_none(),
                "{key} twice"
            );
            a = &a[end + 1..];
        }
        if !self_closing {
            open.push(name.to_string());
        }
        if out.is_empty() {
            assert_eq!(name, "svg", "the root is not svg");
        }
        out.push(Element {
            name: name.to_string(),
            attrs,
        });
    }
    assert!(open.is_empty(), "left open: {open:?}");
    assert!(rest.trim().is_empty(), "after the root: {rest:?}");
    out
}

/// The number in attribute `a` of `e`; panics naming both when there is none.
pub fn num(e: &Element, a: &str) -> f64 {
    e.attrs[a]
        .parse()
        .unwrap_or_else(|_| panic!("{a} of {e:?}"))
}
