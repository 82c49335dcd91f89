use super::messages::{DEVICE_PAGE_MAX, PRODUCTS_PAGE_MAX, Product, ProductId};
use crate::ids::IdentityId;
use crate::state::{BlockState, StateError, Store, key, read};

/// The page and the position in it of list index `index`, for pages of `size` entries.
fn locate(index: u64, size: usize) -> (u32, usize) {
    let size = u64::try_from(size).unwrap_or(u64::MAX).max(1);
    (u32::try_from(index / size).unwrap_or(u32::MAX), usize::try_from(index % size).unwrap_or(usize::MAX))
}

pub(crate) fn product_key(id: &ProductId) -> Vec<u8> {
    key("product", &[id.as_bytes()])
}

fn devices_count_key(id: &ProductId) -> Vec<u8> {
    key("product-devices", &[id.as_bytes()])
}

fn devices_page_key(id: &ProductId, page: u32) -> Vec<u8> {
    key("product-devices", &[id.as_bytes(), &page.to_be_bytes()])
}

fn listed_count_key() -> Vec<u8> {
    key("products", &[])
}

fn listed_page_key(page: u32) -> Vec<u8> {
    key("products", &[&page.to_be_bytes()])
}

pub(crate) fn get_product(state: &BlockState<'_>, id: &ProductId) -> Result<Option<Product>, StateError> {
    state.get(&product_key(id))
}

pub(crate) fn put_product(state: &mut BlockState<'_>, product: &Product) {
    state.put(product_key(&product.firmware_hash), product);
}

/// Appends `id` to the list of every product (pages of `PRODUCTS_PAGE_MAX`).
pub(crate) fn list_product(state: &mut BlockState<'_>, id: ProductId) -> Result<(), StateError> {
    let count: u64 = state.get(&listed_count_key())?.unwrap_or(0);
    let (page, _) = locate(count, PRODUCTS_PAGE_MAX);
    let mut ids: Vec<ProductId> = state.get(&listed_page_key(page))?.unwrap_or_default();
    ids.push(id);
    state.put(listed_page_key(page), &ids);
    state.put(listed_count_key(), &(count + 1));
    Ok(())
}

/// How many devices were ever registered on firmware `id`.
pub(crate) fn device_count(state: &BlockState<'_>, id: &ProductId) -> Result<u64, StateError> {
    Ok(state.get(&devices_count_key(id))?.unwrap_or(0))
}

/// Appends a device to firmware `id`'s index (the caller checked the limit).
pub(crate) fn add_device(state: &mut BlockState<'_>, id: &ProductId, device: IdentityId) -> Result<(), StateError> {
    let count = device_count(state, id)?;
    let (page, _) = locate(count, DEVICE_PAGE_MAX);
    let mut devices: Vec<IdentityId> = state.get(&devices_page_key(id, page))?.unwrap_or_default();
    devices.push(device);
    state.put(devices_page_key(id, page), &devices);
    state.put(devices_count_key(id), &(count + 1));
    Ok(())
}

/// Every device ever registered on firmware `id`, in registration order.
pub(crate) fn devices_in(state: &BlockState<'_>, id: &ProductId) -> Result<Vec<IdentityId>, StateError> {
    let count = device_count(state, id)?;
    let (last, used) = locate(count, DEVICE_PAGE_MAX);
    let pages = if used == 0 { last } else { last.saturating_add(1) };
    let mut out = Vec::new();
    for page in 0..pages {
        let devices: Vec<IdentityId> = state.get(&devices_page_key(id, page))?.unwrap_or_default();
        out.extend(devices);
    }
    Ok(out)
}

/// A product, from committed state.
pub fn product<S: Store + ?Sized>(store: &S, id: &ProductId) -> Result<Option<Product>, StateError> {
    read(store, &product_key(id))
}

/// Products in registration order, from `from` (an index), at most `limit` (capped at
/// `PRODUCTS_PAGE_MAX`), and how many there are, from committed state.
pub fn products<S: Store + ?Sized>(store: &S, from: u64, limit: usize) -> Result<(Vec<Product>, u64), StateError> {
    let count: u64 = read(store, &listed_count_key())?.unwrap_or(0);
    let limit = limit.min(PRODUCTS_PAGE_MAX);
    let mut out = Vec::new();
    let mut index = from;
    while index < count && out.len() < limit {
        let (page, skip) = locate(index, PRODUCTS_PAGE_MAX);
        let ids: Vec<ProductId> = read(store, &listed_page_key(page))?.unwrap_or_default();
        if ids.len() <= skip {
            break;
        }
        for id in ids.iter().skip(skip) {
            if out.len() >= limit {
                break;
            }
            index += 1;
            if let Some(found) = product(store, id)? {
                out.push(found);
            }
        }
    }
    Ok((out, count))
}

/// The device identities registered on firmware `id` (at most `limit` from `from`), and
/// how many there are, from committed state.
pub fn product_devices<S: Store + ?Sized>(
    store: &S,
    id: &ProductId,
    from: u64,
    limit: usize,
) -> Result<(Vec<IdentityId>, u64), StateError> {
    let count: u64 = read(store, &devices_count_key(id))?.unwrap_or(0);
    let mut out = Vec::new();
    let mut index = from;
    while index < count && out.len() < limit {
        let (page, skip) = locate(index, DEVICE_PAGE_MAX);
        let devices: Vec<IdentityId> = read(store, &devices_page_key(id, page))?.unwrap_or_default();
        if devices.len() <= skip {
            break;
        }
        for device in devices.into_iter().skip(skip) {
            if out.len() >= limit {
                break;
            }
            index += 1;
            out.push(device);
        }
    }
    Ok((out, count))
}
