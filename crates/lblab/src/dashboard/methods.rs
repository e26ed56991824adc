//! The method buttons: the running proxy's methods (nginx's from `nginx/methods.json`, HAProxy's
//! from `haproxy/methods.json`), which of them is in force, and a click made into the same
//! [`Change`] `lblab switch --method M` makes.

use lblab_config::{HaproxyMethod, Method, Proxy};
use serde::Serialize;

use crate::front::Front;
use crate::spec::Change;

/// One button: what it posts, and the element id the page gives it.
#[derive(Debug, Clone, Serialize)]
pub struct Button {
    /// The method as the proxy's flag takes it: `least-conn`, `leastconn`, `hdr(X-Key)`.
    pub value: String,
    /// `method-least-conn`, `method-hdr`: the table's key, so that the id has no parenthesis.
    pub id: String,
}

/// The buttons of `proxy`'s methods.
pub fn buttons(proxy: Proxy) -> Vec<Button> {
    match proxy {
        Proxy::Nginx => Method::ALL
            .iter()
            .map(|m| Button {
                value: m.to_string(),
                id: format!("method-{m}"),
            })
            .collect(),
        Proxy::Haproxy => HaproxyMethod::one_of_each()
            .iter()
            .map(|m| Button {
                value: m.to_string(),
                id: format!("method-{}", m.key()),
            })
            .collect(),
    }
}

/// The value of the button that stands for the method `front` runs: HAProxy's `random(3)` lights
/// the `random(2)` button, as both are `random`; `hdr(X-Other)` the `hdr(X-Key)` one.
pub fn in_force(front: &Front) -> Option<String> {
    match front {
        Front::Nginx { config, .. } => Some(config.upstream.method.to_string()),
        Front::Haproxy { config, .. } => {
            let key = config.backend.method.key();
            HaproxyMethod::one_of_each()
                .into_iter()
                .find(|m| m.key() == key)
                .map(|m| m.to_string())
        }
    }
}

/// A click's method, parsed against the lab's proxy (refused in one line naming its methods), as
/// the change `lblab switch --method M` asks for.
pub fn change(proxy: Proxy, method: Option<String>) -> Result<Change, String> {
    let Some(method) = method else {
        return Err(format!("no method given (accepted: {})", names(proxy)));
    };
    Ok(match proxy {
        Proxy::Nginx => Change {
            method: Some(method.parse::<Method>()?),
            ..Change::default()
        },
        Proxy::Haproxy => {
            method.parse::<HaproxyMethod>()?;
            Change {
                other_method: Some(method),
                ..Change::default()
            }
        }
    })
}

fn names(proxy: Proxy) -> String {
    match proxy {
        Proxy::Nginx => Method::names(),
        Proxy::Haproxy => HaproxyMethod::names(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_proxy_offers_its_own_methods_and_takes_only_those() {
        let ids: Vec<String> = buttons(Proxy::Haproxy).into_iter().map(|b| b.id).collect();
        assert!(ids.contains(&"method-hdr".to_owned()), "{ids:?}");
        for b in buttons(Proxy::Haproxy) {
            let c = change(Proxy::Haproxy, Some(b.value.clone())).unwrap();
            assert_eq!(c.other_method.as_deref(), Some(b.value.as_str()));
            assert!(c.method.is_none());
        }
        for b in buttons(Proxy::Nginx) {
            assert!(
                change(Proxy::Nginx, Some(b.value))
                    .unwrap()
                    .method
                    .is_some()
            );
        }
        let e = change(Proxy::Haproxy, Some("ip-hash".into())).unwrap_err();
        assert!(
            e.contains("--proxy haproxy") && e.contains("static-rr"),
            "{e}"
        );
        let e = change(Proxy::Nginx, Some("leastconn".into())).unwrap_err();
        assert!(e.contains("least-conn"), "{e}");
        let e = change(Proxy::Haproxy, None).unwrap_err();
        assert!(e.contains("roundrobin"), "{e}");
    }
}
