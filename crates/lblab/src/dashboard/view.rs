//! What the page and `/state.json` show: one snapshot of the lab.

use serde::Serialize;

use super::burst::BurstResult;
use super::live::{Answer, BackendLive};
use super::methods::Button;
use super::series::SeriesView;

#[derive(Debug, Clone, Serialize)]
pub struct View {
    /// `hash $http_x_key consistent, weights 1,2,3`, as `lblab status` says it; or why it is not known.
    pub method: String,
    /// The value of the button of the method in force; `None` when the lab's record could not be
    /// read.
    pub method_name: Option<String>,
    /// The balancer, `nginx` or `haproxy`.
    pub proxy: String,
    /// Its methods, a button each.
    pub methods: Vec<Button>,
    pub lab_url: String,
    pub backends: Vec<BackendLive>,
    pub total_served: u64,
    pub recent: Vec<Answer>,
    pub burst: Option<BurstResult>,
    /// What the last switch or burst did, or why it failed.
    pub message: Option<String>,
    /// The last minute, for the chart.
    pub series: SeriesView,
}

impl View {
    /// Backend's share of all that the backends served, 0–100.
    pub fn share(&self, b: &BackendLive) -> f64 {
        percent(b.served.unwrap_or(0), self.total_served)
    }
}

pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}
