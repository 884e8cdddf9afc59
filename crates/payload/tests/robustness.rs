//! The parser never panics, whatever the bytes, and refuses tampered bodies with an error.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use proptest::prelude::*;
use pushproxy_payload::{Limits, PayloadError, parse_batch};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_batch(&bytes, &Limits::default());
    }

    #[test]
    fn json_like_text_never_panics(text in "[\\[\\]{}\":,0-9a-zA-Z\\-. ]{0,200}") {
        let _ = parse_batch(text.as_bytes(), &Limits::default());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn mutated_valid_bodies_never_panic(
        batch in batch(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut body = serde_json::to_vec(&batch).unwrap();
        for (at, byte) in edits {
            let i = at.index(body.len());
            body[i] = byte;
        }
        let _ = parse_batch(&body, &Limits::default());
        let end = cut.index(body.len());
        let _ = parse_batch(&body[..end], &Limits::default());
    }

    #[test]
    fn limits_are_exact(batch in batch(), slack in 0usize..3) {
        let body = serde_json::to_vec(&batch).unwrap();
        let exact = Limits {
            max_body_bytes: body.len(),
            max_notifications: batch.notifications().len(),
            max_recipients_per_notification: batch.notifications().iter().map(|n| n.recipients().len()).max().unwrap(),
        };
        prop_assert!(parse_batch(&body, &exact).is_ok());
        let small_body = Limits { max_body_bytes: body.len() - 1 - slack.min(body.len() - 1), ..exact };
        let refused = matches!(parse_batch(&body, &small_body), Err(PayloadError::BodyTooLarge { .. }));
        prop_assert!(refused);
        if exact.max_notifications > 0 {
            let fewer = Limits { max_notifications: exact.max_notifications - 1, ..exact };
            let refused = matches!(parse_batch(&body, &fewer), Err(PayloadError::TooManyNotifications { .. }) | Err(PayloadError::EmptyBatch));
            prop_assert!(refused);
        }
        let fewer = Limits { max_recipients_per_notification: exact.max_recipients_per_notification - 1, ..exact };
        let refused = matches!(parse_batch(&body, &fewer), Err(PayloadError::TooManyRecipients { .. }));
        prop_assert!(refused);
    }
}
