use super::*;
use crate::testing::{Chain, org};

#[test]
fn genesis_records_members_and_admin_keys() {
    let chain = Chain::new();
    let orgs = organisations(&chain.store).unwrap();
    assert_eq!(orgs.len(), 3);
    let admin = chain.admin("hospital-a").public();
    assert_eq!(admin_org(&chain.store, &admin).unwrap(), Some(org("hospital-a")));
    assert_eq!(key_owner(&chain.store, &admin).unwrap(), Some(KeyOwner::Admin(org("hospital-a"))));
}

#[test]
fn genesis_refuses_duplicates() {
    let mut genesis = crate::testing::genesis();
    let copy = genesis.organisations[0].clone();
    genesis.organisations.push(copy);
    assert!(matches!(crate::testing::try_genesis(&genesis), Err(MembershipError::DuplicateOrg(_))));
    let mut genesis = crate::testing::genesis();
    let key = genesis.organisations[0].admin_keys[0];
    genesis.organisations[1].admin_keys.push(key);
    assert!(matches!(crate::testing::try_genesis(&genesis), Err(MembershipError::DuplicateKey(_))));
}
