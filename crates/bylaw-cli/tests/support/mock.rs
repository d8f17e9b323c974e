//! A local mock HTTP API for adapter tests: routes matched on method, path
//! and the exact query, each answering with a status, headers and a JSON
//! body; every request is recorded (headers lower-cased, JSON body parsed)
//! so tests can assert what the adapter sent. A request no route expects is
//! answered 418 and fails [`Mock::finish`].

use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// One request the adapter made.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub headers: BTreeMap<String, String>,
    pub body: Option<Value>,
}

impl Call {
    /// `METHOD path?query` as sent.
    pub fn line(&self) -> String {
        let q: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if q.is_empty() {
            format!("{} {}", self.method, self.path)
        } else {
            format!("{} {}?{}", self.method, self.path, q.join("&"))
        }
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }

    pub fn json(&self) -> &Value {
        self.body.as_ref().unwrap_or_else(|| panic!("{} has no JSON body", self.line()))
    }
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Reply {
        Reply { status, headers: Vec::new(), body }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

type Responder = Box<dyn Fn(&Call, &str) -> Reply + Send>;

struct Route {
    method: String,
    path: String,
    query: BTreeMap<String, String>,
    /// Answers left; `None`: any number.
    remaining: Option<usize>,
    reply: Responder,
}

#[derive(Default)]
struct State {
    routes: Vec<Route>,
    calls: Vec<Call>,
    unexpected: Vec<String>,
}

/// A running mock server on 127.0.0.1.
pub struct Mock {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    server: Arc<tiny_http::Server>,
    state: Arc<Mutex<State>>,
    thread: Option<JoinHandle<()>>,
}

fn split_target(target: &str) -> (String, BTreeMap<String, String>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect();
    (path.to_owned(), query)
}

impl Mock {
    pub fn start() -> Mock {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind mock server"));
        let port = server.server_addr().to_ip().expect("ip address").port();
        let url = format!("http://127.0.0.1:{port}");
        let state = Arc::new(Mutex::new(State::default()));
        let (s, st, base) = (server.clone(), state.clone(), url.clone());
        let thread = std::thread::spawn(move || {
            for mut req in s.incoming_requests() {
                let (path, query) = split_target(req.url());
                let headers = req
                    .headers()
                    .iter()
                    .map(|h| (h.field.as_str().as_str().to_ascii_lowercase(), h.value.as_str().to_owned()))
                    .collect();
                let mut text = String::new();
                let _ = req.as_reader().read_to_string(&mut text);
                let body = (!text.is_empty()).then(|| {
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("request body is not JSON ({e}): {text}"))
                });
                let call = Call { method: req.method().as_str().to_owned(), path, query, headers, body };
                let reply = {
                    let mut state = st.lock().unwrap();
                    state.calls.push(call.clone());
                    let route = state.routes.iter_mut().find(|r| {
                        r.method == call.method
                            && r.path == call.path
                            && r.query == call.query
                            && r.remaining != Some(0)
                    });
                    match route {
                        Some(r) => {
                            if let Some(n) = &mut r.remaining {
                                *n -= 1;
                            }
                            (r.reply)(&call, &base)
                        }
                        None => {
                            state.unexpected.push(call.line());
                            Reply::json(
                                418,
                                serde_json::json!({ "message": format!("mock: unexpected {}", call.line()) }),
                            )
                        }
                    }
                };
                let mut resp = tiny_http::Response::from_string(reply.body.to_string()).with_status_code(reply.status);
                resp.add_header(
                    tiny_http::Header::from_bytes("Content-Type", "application/json; charset=utf-8").unwrap(),
                );
                for (k, v) in &reply.headers {
                    resp.add_header(tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).unwrap());
                }
                let _ = req.respond(resp);
            }
        });
        Mock { url, server, state, thread: Some(thread) }
    }

    fn add(&self, method: &str, target: &str, remaining: Option<usize>, reply: Responder) {
        let (path, query) = split_target(target);
        self.state.lock().unwrap().routes.push(Route { method: method.to_owned(), path, query, remaining, reply });
    }

    /// Expects `METHOD target` exactly `times` times, answering `reply`.
    pub fn expect(&self, method: &str, target: &str, times: usize, reply: Reply) {
        self.add(method, target, Some(times), Box::new(move |_, _| reply.clone()));
    }

    /// Expects `METHOD target` exactly `times` times, answering what `f`
    /// makes of the request (and of the server's base URL).
    pub fn expect_with(
        &self,
        method: &str,
        target: &str,
        times: usize,
        f: impl Fn(&Call, &str) -> Reply + Send + 'static,
    ) {
        self.add(method, target, Some(times), Box::new(f));
    }

    /// Allows `METHOD target` any number of times (including never).
    pub fn allow(&self, method: &str, target: &str, reply: Reply) {
        self.add(method, target, None, Box::new(move |_, _| reply.clone()));
    }

    /// Stops the server and returns the calls in order; panics when a call
    /// was unexpected or an expected call did not come as often as expected.
    pub fn finish(mut self) -> Vec<Call> {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            t.join().expect("mock server thread");
        }
        let state = std::mem::take(&mut *self.state.lock().unwrap());
        let lines: Vec<String> = state.calls.iter().map(Call::line).collect();
        assert!(state.unexpected.is_empty(), "unexpected requests: {:#?}\nall requests: {lines:#?}", state.unexpected);
        for r in &state.routes {
            if let Some(n) = r.remaining {
                assert_eq!(
                    n, 0,
                    "{} {}?{:?}: expected {n} more call(s)\nall requests: {lines:#?}",
                    r.method, r.path, r.query
                );
            }
        }
        state.calls
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.server.unblock();
    }
}
