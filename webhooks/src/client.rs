//! The HTTP client deliveries go through. Its DNS resolver checks every address
//! a name resolves to, and the connection is made to exactly those addresses,
//! so a name cannot pass the check and then connect elsewhere (DNS rebinding).
//! No redirects (a 3xx is a failed attempt), no proxies from the environment
//! (they would connect on our behalf, past the check).

use std::{sync::Arc, time::Duration};

use electrons_domain::webhook::{address_guard, AddressGuard, Refusal};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

pub fn guarded_client(guard: AddressGuard, timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("distributed-electrons-webhooks/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout)
        .pool_max_idle_per_host(256)
        .dns_resolver(Arc::new(GuardedResolver { guard }))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

struct GuardedResolver {
    guard: AddressGuard,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addresses = address_guard::resolve(&host, 0).await?;
            guard.check_resolved(&host, &addresses)?;
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// The guard's refusal inside a client error, if that is what stopped it.
pub fn refusal_in(error: &reqwest::Error) -> Option<&Refusal> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = source {
        if let Some(refusal) = error.downcast_ref::<Refusal>() {
            return Some(refusal);
        }
        source = error.source();
    }
    None
}

/// Addresses written into the URL skip the resolver: they are checked here.
pub fn check_literal(guard: &AddressGuard, url: &url::Url) -> Result<(), Refusal> {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => guard.check_ip(ip.into()),
        Some(url::Host::Ipv6(ip)) => guard.check_ip(ip.into()),
        Some(url::Host::Domain(_)) => Ok(()),
        None => Err(Refusal::NoHost),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A name resolving to an internal address is refused by the resolver
    /// itself: nothing connects, whatever the URL's check said earlier.
    #[tokio::test]
    async fn the_resolver_refuses_internal_addresses() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let client = guarded_client(AddressGuard::default(), Duration::from_secs(2));
        let error = client
            .post(format!("http://localhost:{port}/hook"))
            .send()
            .await
            .expect_err("refused");
        assert!(
            matches!(refusal_in(&error), Some(Refusal::Resolved { .. })),
            "{error:?}"
        );
        let accepted = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
        assert!(accepted.is_err(), "no connection was made");
    }

    #[tokio::test]
    async fn the_allow_list_lets_local_receivers_through() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let app = axum::Router::new().route("/hook", axum::routing::post(|| async { "ok" }));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let guard = AddressGuard::new(vec![
            "127.0.0.0/8".parse().expect("net"),
            "::1/128".parse().expect("net"),
        ]);
        let client = guarded_client(guard, Duration::from_secs(2));
        let response = client
            .post(format!("http://localhost:{port}/hook"))
            .send()
            .await
            .expect("delivered");
        assert_eq!(response.status(), 200);
    }
}
