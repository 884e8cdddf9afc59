//! What the cloud sends on to the devices: an APNs request per iPhone or iPad, and, for
//! comparison, a WNS badge.

use std::error::Error;

use pushproxy_payload::UnseenCount;
use pushproxy_payload::apns::{ApnsRequest, CollapseId, DeviceToken};
use pushproxy_payload::wns::WnsBadge;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

pub fn main() -> Result<()> {
    let device: DeviceToken =
        "5e1f0c2a9b7d4e3f8a6b1c0d2e4f6a8b5e1f0c2a9b7d4e3f8a6b1c0d2e4f6a8b".parse()?;
    for count in [3, 0] {
        print_request(&apns_badge(device.clone(), UnseenCount::new(count)?)?);
    }
    for count in [3, 0, 150] {
        println!("{}", wns_badge(UnseenCount::new(count)?));
    }
    Ok(())
}

// ANCHOR: apns
/// A badge update for one device. Only the newest count matters: with a collapse id, a newer
/// badge replaces an older one that was not shown yet.
fn apns_badge(device: DeviceToken, count: UnseenCount) -> Result<ApnsRequest> {
    let topic = "com.microsoft.exchange.mowa".parse()?;
    let collapse_id: CollapseId = "unseen-count".parse()?;
    Ok(ApnsRequest::badge(device, topic, count)?.with_collapse_id(collapse_id))
}

fn print_request(request: &ApnsRequest) {
    println!("{} {}", ApnsRequest::METHOD, request.path());
    for (name, value) in request.headers() {
        println!("{name}: {value}");
    }
    println!("{}\n", String::from_utf8_lossy(request.body()));
}
// ANCHOR_END: apns

// ANCHOR: wns
fn wns_badge(count: UnseenCount) -> String {
    WnsBadge::new(count).to_xml()
}
// ANCHOR_END: wns
