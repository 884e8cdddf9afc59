//! The cached-token lookup is on the path of every notification batch: it must stay in
//! the tens of nanoseconds and allocate nothing.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use pushproxy_token::cache::{CacheKey, CachePolicy, Lookup, TokenCache};
use pushproxy_token::jwt::Token;
use pushproxy_token::principal::{Audience, Guid, Realm, well_known};

fn key(n: u128) -> CacheKey {
    let tenant = Guid::from_u128(n);
    CacheKey {
        tenant,
        resource: Audience::new(
            well_known::EXCHANGE,
            well_known::EXCHANGE_ONLINE_HOST
                .parse()
                .expect("a valid host"),
            Realm::Tenant(tenant),
        ),
    }
}

fn fresh_lookup(c: &mut Criterion) {
    let now = 1_767_225_600;
    let mut cache: TokenCache = TokenCache::new(CachePolicy::default());
    for n in 0..1000 {
        cache.insert(key(n), Token::new("x".repeat(1200)), now + 3600);
    }
    let probe = key(500);
    c.bench_function("cache get (fresh, 1000 tenants)", |b| {
        b.iter(|| match cache.get(black_box(&probe), black_box(now)) {
            Lookup::Fresh(token) => token.len(),
            _ => 0,
        })
    });
}

criterion_group!(benches, fresh_lookup);
criterion_main!(benches);
