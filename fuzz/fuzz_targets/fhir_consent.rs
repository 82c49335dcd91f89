//! A FHIR R4 Consent from a file nobody here wrote: importing never panics, whatever the
//! JSON holds (depth, sizes, dates, codes, references).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = panacea_contracts::fhir::consent::import(text);
});
