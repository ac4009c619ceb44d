//! Listening: binding the socket, the plain-HTTP-only-on-loopback rule, and
//! TLS with rustls (ring) when a certificate and key are given. Binding is
//! separate from serving so the caller learns the real address (with port
//! 0) before the first request and can print it.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::http;

#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    /// Certificate chain and private key, PEM.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Allow plain HTTP on a non-loopback address (behind a TLS proxy).
    pub insecure_http: bool,
}

impl ServeOptions {
    /// Plain HTTP on 127.0.0.1 with a free port: tests and benchmarks.
    pub fn loopback() -> ServeOptions {
        ServeOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: None,
            insecure_http: false,
        }
    }
}

/// Tokens travel in every request: plain HTTP is refused off loopback
/// unless the owner says a proxy in front terminates TLS. Pure.
pub fn check_listen(addr: SocketAddr, tls: bool, insecure_http: bool) -> Result<()> {
    if tls || insecure_http || addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "refusing plain HTTP on {addr}: device tokens would cross the network readable; give --tls-cert and --tls-key, or --insecure-http if a proxy in front terminates TLS"
        )))
    }
}

enum Listener {
    Plain(tokio::net::TcpListener),
    Tls(std::net::TcpListener, RustlsConfig),
}

/// A bound, not yet serving, server.
pub struct Bound {
    listener: Listener,
    addr: SocketAddr,
}

impl std::fmt::Debug for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bound").field("addr", &self.addr).finish()
    }
}

impl Bound {
    pub async fn bind(opts: &ServeOptions) -> Result<Bound> {
        check_listen(opts.listen, opts.tls.is_some(), opts.insecure_http)?;
        let io = |what: String| move |source| Error::Io { what, source };
        match &opts.tls {
            None => {
                let l = tokio::net::TcpListener::bind(opts.listen)
                    .await
                    .map_err(io(format!("listening on {}", opts.listen)))?;
                let addr = l
                    .local_addr()
                    .map_err(io("reading the bound address".into()))?;
                Ok(Bound {
                    listener: Listener::Plain(l),
                    addr,
                })
            }
            Some((cert, key)) => {
                // One process-wide provider, chosen here, so another crate
                // enabling a second rustls backend cannot make it ambiguous.
                let _ = rustls::crypto::ring::default_provider().install_default();
                let config = RustlsConfig::from_pem_file(cert, key)
                    .await
                    .map_err(io(format!(
                        "loading the TLS certificate {} and key {}",
                        cert.display(),
                        key.display()
                    )))?;
                let l = std::net::TcpListener::bind(opts.listen)
                    .map_err(io(format!("listening on {}", opts.listen)))?;
                let addr = l
                    .local_addr()
                    .map_err(io("reading the bound address".into()))?;
                Ok(Bound {
                    listener: Listener::Tls(l, config),
                    addr,
                })
            }
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL tills use, e.g. `http://127.0.0.1:7878`.
    pub fn url(&self) -> String {
        let scheme = match self.listener {
            Listener::Plain(_) => "http",
            Listener::Tls(..) => "https",
        };
        format!("{scheme}://{}", self.addr)
    }

    /// Serves until `shutdown` completes, then lets requests in flight
    /// finish (up to 10 s for TLS connections).
    pub async fn run<B: Backend>(
        self,
        backend: Arc<B>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let app = http::router(backend);
        let io = |source| Error::Io {
            what: "serving HTTP".into(),
            source,
        };
        match self.listener {
            Listener::Plain(l) => axum::serve(l, app)
                .with_graceful_shutdown(shutdown)
                .await
                .map_err(io),
            Listener::Tls(l, config) => {
                let handle = axum_server::Handle::new();
                let h = handle.clone();
                tokio::spawn(async move {
                    shutdown.await;
                    h.graceful_shutdown(Some(Duration::from_secs(10)));
                });
                axum_server::from_tcp_rustls(l, config)
                    .map_err(io)?
                    .handle(handle)
                    .serve(app.into_make_service())
                    .await
                    .map_err(io)
            }
        }
    }
}

/// Starts the API on 127.0.0.1 with a free port in the background (tests,
/// benchmarks): returns the base URL. It serves until the runtime ends.
pub async fn spawn_loopback<B: Backend>(backend: Arc<B>) -> Result<String> {
    let bound = Bound::bind(&ServeOptions::loopback()).await?;
    let url = bound.url();
    tokio::spawn(async move {
        if let Err(e) = bound.run(backend, std::future::pending()).await {
            tracing::error!(error = %e, "the server stopped");
        }
    });
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_on_loopback_unless_forced() {
        let cases = [
            ("127.0.0.1:7878", false, false, true),
            ("[::1]:7878", false, false, true),
            ("0.0.0.0:7878", false, false, false),
            ("192.0.2.10:7878", false, false, false),
            ("0.0.0.0:7878", true, false, true),
            ("0.0.0.0:7878", false, true, true),
        ];
        for (addr, tls, insecure, ok) in cases {
            let addr: SocketAddr = addr.parse().unwrap();
            assert_eq!(
                check_listen(addr, tls, insecure).is_ok(),
                ok,
                "{addr} tls={tls} insecure={insecure}"
            );
        }
    }
}
