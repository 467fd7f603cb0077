//! Tests of the login backoff: the pure schedule, and the tables with
//! tokio's clock paused.

use std::net::Ipv4Addr;

use tokio::time::advance;

use super::*;

#[test]
fn the_delay_doubles_from_one_second_up_to_the_cap() {
    let secs = |n| delay(n).as_secs();
    assert_eq!(
        [0, 1, 2, 3, 4, 10].map(secs),
        [0, 1, 2, 4, 8, 512],
        "delay by extra failures"
    );
    assert_eq!(delay(11), MAX_DELAY);
    assert_eq!(delay(40), MAX_DELAY);
    assert_eq!(delay(u32::MAX), MAX_DELAY);
}

#[tokio::test(start_paused = true)]
async fn an_account_backs_off_after_its_free_failures_and_a_success_resets_it() {
    let throttle = LoginThrottle::default();
    for _ in 0..FREE_ACCOUNT_FAILURES {
        assert_eq!(throttle.check("admin", None), Ok(()));
        throttle.failed("admin", None);
    }
    assert_eq!(throttle.check("admin", None), Ok(()));
    throttle.failed("admin", None);
    assert_eq!(throttle.check("admin", None), Err(Duration::from_secs(1)));
    assert_eq!(throttle.check("Admin", None), Err(Duration::from_secs(1)));
    assert_eq!(throttle.check("someone-else", None), Ok(()));
    advance(Duration::from_secs(1)).await;
    assert_eq!(throttle.check("admin", None), Ok(()));
    throttle.failed("admin", None);
    assert_eq!(throttle.check("admin", None), Err(Duration::from_secs(2)));
    advance(Duration::from_millis(1500)).await;
    assert_eq!(
        throttle.check("admin", None),
        Err(Duration::from_millis(500))
    );
    throttle.succeeded("admin");
    assert_eq!(throttle.check("admin", None), Ok(()));
    throttle.failed("admin", None);
    assert_eq!(
        throttle.check("admin", None),
        Ok(()),
        "a success resets the count"
    );
}

#[tokio::test(start_paused = true)]
async fn an_address_backs_off_across_accounts_and_failures_are_forgotten() {
    let throttle = LoginThrottle::default();
    let sprayer = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
    let other = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)));
    for n in 0..=FREE_ADDRESS_FAILURES {
        throttle.failed(&format!("user{n}"), sprayer);
    }
    assert_eq!(
        throttle.check("fresh", sprayer),
        Err(Duration::from_secs(1))
    );
    assert_eq!(throttle.check("fresh", other), Ok(()));
    advance(FORGET_AFTER).await;
    throttle.failed("fresh", sprayer);
    assert_eq!(
        throttle.check("fresh", sprayer),
        Ok(()),
        "old failures are forgotten"
    );
}

#[tokio::test(start_paused = true)]
async fn the_tables_stay_bounded() {
    let throttle = LoginThrottle::default();
    for n in 0..MAX_ENTRIES + 100 {
        throttle.failed(&format!("user{n}"), None);
    }
    assert_eq!(throttle.len(), (MAX_ENTRIES, 0));
    // The newest entry survives eviction.
    for _ in 0..FREE_ACCOUNT_FAILURES {
        throttle.failed(&format!("user{}", MAX_ENTRIES + 99), None);
    }
    assert!(
        throttle
            .check(&format!("user{}", MAX_ENTRIES + 99), None)
            .is_err()
    );
    assert!(throttle.check(&"x".repeat(10_000), None).is_ok());
}
