use super::catalogue::{CURRENT, catalogue};
use super::errors::CsfError;
use super::messages::{CsfCall, DEPARTMENT_BYTES_MAX, ELEMENTS_MAX, ElementProfile, OrgElement, SelfAssessment, TIERS};
use super::state::{latest_version_in, put_assessment};
use crate::audit::{AuditAction, AuditEntity, AuditKind, new_event};
use crate::codes::StaffRole;
use crate::context::TxContext;
use crate::error::ExecError;
use crate::identity::Principal;
use crate::state::BlockState;

fn check_elements(version: &str, elements: &[ElementProfile]) -> Result<(), CsfError> {
    let catalogue = catalogue(version).ok_or_else(|| CsfError::UnknownCatalogue(version.into(), CURRENT.into()))?;
    if elements.is_empty() || elements.len() > ELEMENTS_MAX {
        return Err(CsfError::Invalid(format!("1 to {ELEMENTS_MAX} organisational elements")));
    }
    if elements.first().map(|e| &e.element) != Some(&OrgElement::Organisation)
        || elements.iter().skip(1).any(|e| e.element == OrgElement::Organisation)
    {
        return Err(CsfError::Invalid("the first element is the organisation as a whole, and only the first".into()));
    }
    let mut departments: Vec<&str> = Vec::new();
    for element in elements {
        if let OrgElement::Department(name) = &element.element {
            let fine = !name.is_empty()
                && name.len() <= DEPARTMENT_BYTES_MAX
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
            if !fine {
                return Err(CsfError::Invalid(format!(
                    "a department id is 1 to {DEPARTMENT_BYTES_MAX} letters, digits, '-', '_' or '.' (no names of people)"
                )));
            }
            if departments.contains(&name.as_str()) {
                return Err(CsfError::Invalid(format!("department {name} is given twice")));
            }
            departments.push(name);
        }
        if element.tiers.is_empty() {
            return Err(CsfError::Invalid(format!("{} assesses no category", element.element)));
        }
        let mut last = None;
        for tier in &element.tiers {
            let Some(position) = catalogue.position(&tier.category) else {
                return Err(CsfError::Invalid(format!("{} is not a category of NIST CSF {version}", tier.category)));
            };
            // Catalogue order, each category once: one encoding per profile.
            if last.is_some_and(|l| position <= l) {
                return Err(CsfError::Invalid(format!(
                    "{}: categories go in catalogue order, each once",
                    element.element
                )));
            }
            last = Some(position);
            if !TIERS.contains(&tier.current) || !TIERS.contains(&tier.target) {
                return Err(CsfError::Invalid(format!("{}: tiers are 1 to 4", tier.category)));
            }
        }
    }
    Ok(())
}

/// Executes a security-governance call.
pub(crate) fn execute(
    state: &mut BlockState<'_>,
    ctx: &TxContext,
    who: &Principal,
    call: CsfCall,
) -> Result<(), ExecError> {
    match call {
        CsfCall::Submit { catalogue, elements } => {
            let officer = match who {
                Principal::Member { identity } if identity.kind.role() == Some(StaffRole::SecurityOfficer) => identity,
                _ => return Err(CsfError::NotSecurityOfficer.into()),
            };
            check_elements(&catalogue, &elements)?;
            let org = officer.org.clone();
            let version = latest_version_in(state, &org)?.saturating_add(1);
            let assessment = SelfAssessment {
                org: org.clone(),
                version,
                catalogue,
                elements,
                officer: officer.id,
                submitted_at: ctx.block.time,
            };
            put_assessment(state, &assessment);
            let entity =
                AuditEntity { record: Some(SelfAssessment::record_id(&org, version)), ..AuditEntity::default() };
            state.emit(new_event(
                ctx,
                AuditKind::SelfAssessmentRecorded,
                AuditAction::Create,
                vec![who.agent()],
                entity,
                None,
            ));
            Ok(())
        }
    }
}
