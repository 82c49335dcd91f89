//! `panacea`: the command line of hospitals' operators, auditors and scripts, on the SDK.
//!
//! Every transaction command reads the signer's key file, asks the node for the signer's
//! next nonce, signs, submits, waits for the commit and prints the receipt.
//!
//! Exit codes, for scripts: 0 done; 1 a local problem (a file, a value); 2 a bad
//! argument; 3 the node could not be reached or refused the request; 4 the transaction
//! committed but failed (the receipt says why); 5 not committed within `--wait`; 6 the
//! node's proof did not verify against the genesis validator set (do not trust that node);
//! 7 the access request (or evaluation, or decision shown) is a denial.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

mod access;
mod assessment;
mod cli;
mod connection;
mod gov;
mod nudge;
mod output;
mod product;
mod risk;
mod training;

use cli::Step;
use output::{Failure, print_json, report, say};
use panacea_client_sdk::types::{AuditQuery, EvaluateQuery, TxState, TxStatus};
use panacea_client_sdk::{Client, ClientError, ProvableRecord, RequestSigner};
use panacea_contracts::access::AccessCall;
use panacea_contracts::consent::ConsentCall;
use panacea_contracts::identity::{IdentityCall, IdentityKind};
use panacea_contracts::ids::{ConsentId, DecisionId, DocumentHash, IdentityId, OrgId, PatientRef};
use panacea_contracts::provable::Record;
use panacea_contracts::{Call, Outcome, Transaction};
use panacea_primitives::{ChainId, Hash, Height, Keypair, PublicKey};

pub(crate) use cli::*;

pub(crate) fn hash(what: &str, text: &str) -> Result<Hash, Failure> {
    Hash::from_hex(text.trim()).map_err(|e| Failure::local(format!("{what} must be 64 hex digits: {e}")))
}

pub(crate) fn public_key(text: &str) -> Result<PublicKey, Failure> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut bytes)
        .map_err(|e| Failure::local(format!("a public key is 64 hex digits: {e}")))?;
    PublicKey::from_bytes(bytes).map_err(|e| Failure::local(format!("not a valid public key: {e}")))
}

pub(crate) fn load_key(path: &Path) -> Result<Keypair, Failure> {
    panacea_node::keys::load(path).map_err(Failure::local)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return report(Failure::local(e)),
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => report(failure),
    }
}

async fn run(cli: Cli) -> Result<u8, Failure> {
    let client = Client::new(&cli.node).map_err(|e| Failure { code: 2, message: e.to_string() })?;
    let wait = Duration::from_secs(cli.wait);
    let mut then = Then::Receipt;
    let call = match cli.command {
        Command::Audit(command) => Work::Read(command),
        Command::Keys(KeysCommand::New { out }) => {
            let key = panacea_node::keys::generate().map_err(Failure::local)?;
            panacea_node::keys::save(&out, "signing", &key).map_err(Failure::local)?;
            let public = hex::encode(key.public().to_bytes());
            if cli.json {
                print_json(&serde_json::json!({ "file": out, "public_key": public }))?;
            } else {
                say!("wrote {}\npublic key: {public}", out.display());
            }
            return Ok(0);
        }
        Command::Keys(KeysCommand::Show { key }) => {
            let public = hex::encode(load_key(&key)?.public().to_bytes());
            if cli.json {
                print_json(&serde_json::json!({ "public_key": public }))?;
            } else {
                say!("{public}");
            }
            return Ok(0);
        }
        Command::Keys(KeysCommand::Export { key, out, passphrase }) => {
            let secret = load_key(&key)?;
            panacea_node::keys::export_encrypted(
                &out,
                "signing",
                &secret,
                &passphrase.read()?,
                panacea_node::keys::KEYSTORE_LOG_N,
            )
            .map_err(Failure::local)?;
            if cli.json {
                print_json(
                    &serde_json::json!({ "keystore": out, "public_key": hex::encode(secret.public().to_bytes()) }),
                )?;
            } else {
                say!("wrote {} (encrypted)", out.display());
            }
            return Ok(0);
        }
        Command::Keys(KeysCommand::Import { keystore, out, passphrase }) => {
            let (secret, purpose) =
                panacea_node::keys::import_encrypted(&keystore, &passphrase.read()?).map_err(Failure::local)?;
            panacea_node::keys::save(&out, &purpose, &secret).map_err(Failure::local)?;
            if cli.json {
                print_json(&serde_json::json!({ "file": out, "public_key": hex::encode(secret.public().to_bytes()) }))?;
            } else {
                say!("wrote {}\npublic key: {}", out.display(), hex::encode(secret.public().to_bytes()));
            }
            return Ok(0);
        }
        Command::Gov(command) => match gov::run(&client, command, cli.json).await? {
            Step::Submit(signer, call) => Work::Submit(signer, call),
            Step::Done(code) => return Ok(code),
        },
        Command::Product(command) => match product::run(&client, command, cli.json).await? {
            Step::Submit(signer, call) => Work::Submit(signer, call),
            Step::Done(code) => return Ok(code),
        },
        Command::SelfAssessment(command) => match assessment::run(&client, command, cli.json).await? {
            Step::Submit(signer, call) => Work::Submit(signer, call),
            Step::Done(code) => return Ok(code),
        },
        Command::Connection(command) => match connection::run(&client, command, cli.json).await? {
            Step::Submit(signer, call) => Work::Submit(signer, call),
            Step::Done(code) => return Ok(code),
        },
        Command::Training(command) => match training::run(&client, command, cli.json).await? {
            Step::Submit(signer, call) => Work::Submit(signer, call),
            Step::Done(code) => return Ok(code),
        },
        Command::Nudge(command) => match nudge::run(&client, command, cli.json).await? {
            Step::Submit(signer, call) => Work::Submit(signer, call),
            Step::Done(code) => return Ok(code),
        },
        Command::Org(OrgCommand::List) => {
            let orgs = client.organisations().await?;
            if cli.json {
                print_json(&orgs)?;
            } else {
                for org in &orgs {
                    say!(
                        "{:<24} {:<18} {:<10} admins {}  validator {}",
                        org.id.as_str(),
                        format!("{:?}", org.kind),
                        format!("{:?}", org.status),
                        org.admin_keys.len(),
                        if org.validator_key.is_some() { "yes" } else { "no" }
                    );
                }
            }
            return Ok(0);
        }
        Command::Org(OrgCommand::Show { signer, genesis, org }) => {
            return prove(&client, &signer, &genesis, "organisation", &org, cli.json).await;
        }
        Command::Proof { signer, genesis, kind, id } => {
            return prove(&client, &signer, &genesis, &kind, &id, cli.json).await;
        }
        Command::Identity(IdentityCommand::Show(target)) => {
            let id = IdentityId(hash("--identity", &target.identity)?);
            let identity = client.identity(&request_signer(&client, &target.signer.key).await?, &id).await?;
            if cli.json {
                print_json(&identity)?;
            } else {
                say!("identity    {}", identity.id);
                say!("org         {}", identity.org.as_str());
                say!("kind        {:?}", identity.kind);
                say!("key         {}", hex::encode(identity.key.to_bytes()));
                say!("status      {:?} from height {}", identity.status, identity.effective);
            }
            return Ok(0);
        }
        Command::Consent(ConsentCommand::List { signer, patient, pseudonym_key }) => {
            let patient = access::patient_ref(&patient, pseudonym_key.as_deref())?.to_string();
            return audit(&client, AuditCommand::Consents { signer, patient }, cli.json).await;
        }
        Command::Consent(ConsentCommand::Evaluate(args)) => {
            let patient = access::patient_ref(&args.patient, args.pseudonym_key.as_deref())?;
            let query = EvaluateQuery {
                requester: args.requester.map(|t| hash("--requester", &t).map(IdentityId)).transpose()?,
                org: args.org.map(OrgId::new).transpose().map_err(Failure::local)?,
                role: args.role.map(|r| r.code().to_owned()),
                purpose: args.purpose.code().to_owned(),
                data_class: args.data_class.code().to_owned(),
                resource_type: args.resource_type.map(|t| t.code().to_owned()),
                custodian: OrgId::new(args.custodian).map_err(Failure::local)?,
                data_time: args.data_date.as_deref().map(access::data_date).transpose()?.map(|t| t.as_millis()),
                at: args
                    .at
                    .as_deref()
                    .map(|t| {
                        panacea_contracts::fhir::parse_date_time(t, panacea_contracts::fhir::DateBound::Start)
                            .map_err(|e| Failure::local(format!("--at {t:?}: {e}")))
                    })
                    .transpose()?
                    .map(|t| t.as_millis()),
            };
            let signer = request_signer(&client, &args.signer.key).await?;
            return access::evaluate(&client, &signer, &patient, &query, cli.json).await;
        }
        Command::Risk(RiskCommand::Assess { dir, org, key }) => {
            let (parameters, facts) = match (org, key) {
                (Some(org), Some(key)) => {
                    let id = OrgId::new(org.as_str()).map_err(Failure::local)?;
                    let (facts, _) = risk::facts(&client, &key, &dir, &id, None).await?;
                    (risk_parameters(&client, &key, &org).await?, facts)
                }
                _ => (None, Default::default()),
            };
            let assessed = panacea_node::workers::risk::inventory::assess_dir_with(&dir, parameters.as_ref(), &facts)
                .map_err(Failure::local)?;
            return risk::print_assessment(&assessed, cli.json);
        }
        Command::Risk(RiskCommand::Submit { signer, dir, org, survey_salt }) => {
            let parameters = risk_parameters(&client, &signer.key, &org).await?;
            let id = OrgId::new(org.as_str()).map_err(Failure::local)?;
            let (facts, cutoff) = risk::facts(&client, &signer.key, &dir, &id, None).await?;
            let assessed = panacea_node::workers::risk::inventory::assess_dir_with(&dir, parameters.as_ref(), &facts)
                .map_err(Failure::local)?;
            let call = panacea_node::workers::risk::inventory::submit_call(&dir, &assessed, &survey_salt, cutoff)
                .map_err(Failure::local)?;
            if !cli.json {
                say!("output {}", assessed.assessment.hash());
            }
            Work::Submit(signer, Call::Risk(call))
        }
        Command::Risk(RiskCommand::Attest { signer, dir, org, assessment, observed_until }) => {
            let parameters = risk_parameters(&client, &signer.key, &org).await?;
            let id = OrgId::new(org.as_str()).map_err(Failure::local)?;
            let (facts, _) = risk::facts(&client, &signer.key, &dir, &id, Some(observed_until)).await?;
            let assessed = panacea_node::workers::risk::inventory::assess_dir_with(&dir, parameters.as_ref(), &facts)
                .map_err(Failure::local)?;
            let output = hash("the output", &assessed.assessment.hash())?;
            let assessment = hash("--assessment", &assessment)?;
            Work::Submit(signer, Call::Risk(panacea_contracts::risk::RiskCall::Attest { assessment, output }))
        }
        Command::Risk(RiskCommand::WhatIf { dir, service_level, attacker, max }) => {
            let (_, inputs) = panacea_node::workers::risk::inventory::inputs_of(&dir, None).map_err(Failure::local)?;
            let attacker = match attacker.as_str() {
                "naive" => panacea_risk::AttackerKind::Naive,
                "advanced" => panacea_risk::AttackerKind::Advanced,
                _ => panacea_risk::AttackerKind::Professional,
            };
            let remedies = panacea_risk::what_if(&inputs, &service_level, attacker, max.min(48))
                .map_err(|e| Failure::local(format!("{}: {e}", dir.display())))?;
            return risk::print_remedies(&service_level, &remedies, cli.json);
        }
        Command::Risk(RiskCommand::Mitigate { signer, device, record }) => {
            let device = IdentityId(hash("--device", &device)?);
            let record = DocumentHash(hash("--record", &record)?);
            Work::Submit(signer, Call::Risk(panacea_contracts::risk::RiskCall::Mitigate { device, record }))
        }
        Command::Risk(RiskCommand::Show { signer, org }) => {
            let org = OrgId::new(org).map_err(Failure::local)?;
            let signer = request_signer(&client, &signer.key).await?;
            let view = client.risk(&signer, &org).await?;
            if cli.json {
                print_json(&view)?;
                return Ok(0);
            }
            return access::print_risk(&view);
        }
        Command::Decision(DecisionCommand::Show { signer, id }) => {
            let signer = request_signer(&client, &signer.key).await?;
            return access::show(&client, &signer, &id, cli.json).await;
        }
        Command::Pseudonym(PseudonymCommand::NewKey { out }) => {
            panacea_node::keys::new_pseudonym_key(&out).map_err(Failure::local)?;
            say!("wrote a new pseudonymisation key to {} (mode 0600); back it up offline", out.display());
            return Ok(0);
        }
        Command::Pseudonym(PseudonymCommand::Derive { pseudonym_key, patient }) => {
            let patient = access::patient_ref(&patient, Some(&pseudonym_key))?;
            if cli.json {
                print_json(&serde_json::json!({ "patient_ref": patient }))?;
            } else {
                say!("{patient}");
            }
            return Ok(0);
        }
        Command::Consent(ConsentCommand::History { signer, consent }) => {
            let id = ConsentId(hash("--consent", &consent)?);
            let history = client.consent_history(&request_signer(&client, &signer.key).await?, &id).await?;
            if cli.json {
                print_json(&history)?;
            } else {
                for c in &history {
                    say!("v{} {:?} recorded at {} ms", c.version, c.terms.status, c.recorded_at.as_millis());
                }
            }
            return Ok(0);
        }
        Command::Status => {
            let status = client.status().await?;
            if cli.json {
                print_json(&status)?;
            } else {
                say!("chain       {}", status.chain_id);
                say!("node        {} ({}, {})", status.moniker, status.role, status.node_id);
                say!("height      {} (round {})", status.height, status.round);
                say!("block       {}", status.block_id);
                say!("state root  {}", status.state_root);
                say!("peers       {}", status.peers.len());
                say!("pool        {} transactions", status.mempool_transactions);
                if status.catching_up {
                    say!("catching up to {}", status.best_seen_height);
                }
            }
            return Ok(0);
        }
        Command::Block { height, key } => {
            let height = if height == "latest" {
                client.status().await?.height
            } else {
                Height(
                    height
                        .parse()
                        .map_err(|_| Failure { code: 2, message: "height must be a number or `latest`".into() })?,
                )
            };
            let block = match key {
                Some(key) => client.block_signed(&request_signer(&client, &key).await?, height).await?,
                None => client.block(height).await?,
            };
            if cli.json {
                print_json(&block)?;
            } else {
                say!("height        {}", block.height);
                say!("id            {}", block.id);
                say!("parent        {}", block.parent);
                say!("round         {} (proposer {})", block.round, block.author);
                say!("time (ms)     {}", block.time);
                say!("state root    {}", block.state_root.map(|r| r.to_string()).unwrap_or_default());
                say!("transactions  {}", block.transaction_count);
                say!("certificate   {}", if block.certificate.is_some() { "included" } else { "on a later block" });
            }
            return Ok(0);
        }
        Command::Tx { id, key } => {
            let id = hash("a transaction id", &id)?;
            let status = match key {
                Some(key) => client.transaction_signed(&request_signer(&client, &key).await?, &id).await?,
                None => client.transaction(&id).await?,
            };
            return show_status(&status, cli.json);
        }
        Command::Nonce { key } => {
            let nonces = client.nonces(&load_key(&key)?.public()).await?;
            let free = nonces.next_nonce.max(nonces.next_free_nonce);
            if cli.json {
                print_json(&serde_json::json!({ "next_nonce": nonces.next_nonce, "next_free_nonce": free }))?;
            } else if free == nonces.next_nonce {
                say!("{}", nonces.next_nonce);
            } else {
                say!("{} (committed; {free} after the transactions pending at this node)", nonces.next_nonce);
            }
            return Ok(0);
        }
        Command::Identity(IdentityCommand::RegisterStaff { signer, public_key: key, role }) => {
            let kind = IdentityKind::Staff { role };
            Work::Submit(signer, Call::Identity(IdentityCall::Register { key: public_key(&key)?, kind }))
        }
        Command::Identity(IdentityCommand::RegisterService { signer, public_key: key, name }) => {
            let kind = IdentityKind::Service { name };
            Work::Submit(signer, Call::Identity(IdentityCall::Register { key: public_key(&key)?, kind }))
        }
        Command::Identity(IdentityCommand::RegisterDevice {
            signer,
            public_key: key,
            device_type,
            manufacturer,
            model,
            firmware_hash,
            sbom_hash,
        }) => {
            let kind = IdentityKind::Device {
                device_type,
                manufacturer,
                model,
                firmware_hash: hash("--firmware-hash", &firmware_hash)?,
                sbom_hash: hash("--sbom-hash", &sbom_hash)?,
            };
            Work::Submit(signer, Call::Identity(IdentityCall::Register { key: public_key(&key)?, kind }))
        }
        Command::Identity(IdentityCommand::Suspend(target)) => {
            let identity = IdentityId(hash("--identity", &target.identity)?);
            Work::Submit(target.signer, Call::Identity(IdentityCall::Suspend { identity }))
        }
        Command::Identity(IdentityCommand::Reactivate(target)) => {
            let identity = IdentityId(hash("--identity", &target.identity)?);
            Work::Submit(target.signer, Call::Identity(IdentityCall::Reactivate { identity }))
        }
        Command::Identity(IdentityCommand::Revoke(target)) => {
            let identity = IdentityId(hash("--identity", &target.identity)?);
            Work::Submit(target.signer, Call::Identity(IdentityCall::Revoke { identity }))
        }
        Command::Identity(IdentityCommand::RotateKey { target, new_public_key }) => {
            let identity = IdentityId(hash("--identity", &target.identity)?);
            let new_key = public_key(&new_public_key)?;
            Work::Submit(target.signer, Call::Identity(IdentityCall::RotateKey { identity, new_key }))
        }
        Command::Consent(ConsentCommand::Record { signer, fhir, pseudonym_key, form_hash }) => {
            let text = std::fs::read_to_string(&fhir)
                .map_err(|e| Failure::local(format!("cannot read {}: {e}", fhir.display())))?;
            let pseudonymiser = pseudonym_key
                .as_deref()
                .map(panacea_node::keys::load_pseudonym_key)
                .transpose()
                .map_err(Failure::local)?;
            let imported = panacea_contracts::fhir::consent::import_with(&text, pseudonymiser.as_ref())
                .map_err(|e| Failure::local(format!("{} is not a usable FHIR Consent: {e}", fhir.display())))?;
            if !imported.unsupported.is_empty() && !cli.json {
                say!("note: not represented on chain: {}", imported.unsupported.join(", "));
            }
            then = Then::Unrepresented(imported.unsupported.clone());
            let form_hash = match form_hash {
                Some(text) => Some(DocumentHash(hash("--form-hash", &text)?)),
                None => imported.form_hash,
            };
            Work::Submit(signer, Call::Consent(ConsentCall::Record { terms: imported.terms, form_hash }))
        }
        Command::Consent(ConsentCommand::Revoke { signer, consent, form_hash }) => {
            let consent = ConsentId(hash("--consent", &consent)?);
            let form_hash = form_hash.map(|t| hash("--form-hash", &t).map(DocumentHash)).transpose()?;
            Work::Submit(signer, Call::Consent(ConsentCall::Revoke { consent, form_hash }))
        }
        Command::PatientKey(command) => {
            let form = |text: Option<String>| text.map(|t| hash("--form-hash", &t).map(DocumentHash)).transpose();
            let (signer, call) = match command {
                PatientKeyCommand::Bind { signer, patient, pseudonym_key, public_key: key, form_hash } => (
                    signer,
                    ConsentCall::BindPatientKey {
                        patient: access::patient_ref(&patient, pseudonym_key.as_deref())?,
                        key: public_key(&key)?,
                        form_hash: DocumentHash(hash("--form-hash", &form_hash)?),
                    },
                ),
                PatientKeyCommand::Replace { signer, public_key: key, new_public_key, form_hash } => (
                    signer,
                    ConsentCall::ReplacePatientKey {
                        key: public_key(&key)?,
                        new_key: public_key(&new_public_key)?,
                        form_hash: form(form_hash)?,
                    },
                ),
                PatientKeyCommand::Revoke { signer, public_key: key, form_hash } => {
                    (signer, ConsentCall::RevokePatientKey { key: public_key(&key)?, form_hash: form(form_hash)? })
                }
            };
            Work::Submit(signer, Call::Consent(call))
        }
        Command::Access(AccessCommand::Request {
            signer,
            patient,
            data_class,
            resource_type,
            purpose,
            custodian,
            data_date,
            justification,
        }) => {
            let custodian = OrgId::new(custodian).map_err(Failure::local)?;
            let data_time = data_date.as_deref().map(access::data_date).transpose()?;
            then = Then::Decision;
            let justification = justification.map(|t| hash("--justification", &t).map(DocumentHash)).transpose()?;
            Work::Submit(
                signer,
                Call::Access(AccessCall::Request {
                    patient: PatientRef(hash("--patient", &patient)?),
                    data_class,
                    resource_type,
                    purpose,
                    custodian,
                    document: None,
                    data_time,
                    justification,
                }),
            )
        }
    };
    let (signer, call) = match call {
        Work::Submit(signer, call) => (signer, call),
        Work::Read(command) => return audit(&client, command, cli.json).await,
    };
    let key = load_key(&signer.key)?;
    let status = client.status().await?;
    let chain_id = ChainId::new(status.chain_id).map_err(Failure::local)?;
    // After the key's transactions still pending at this node: one stuck there (its node
    // cut off from the others) does not make this one `nonce_taken`.
    let nonce = client.next_free_nonce(&key.public()).await?;
    let tx = Transaction { chain_id: chain_id.clone(), signer: key.public(), nonce, call }.sign(&key);
    let status = client.submit_and_wait(&tx, wait).await?;
    let committed_ok = status.receipt.as_ref().is_some_and(|r| r.is_ok());
    match then {
        Then::Unrepresented(paths) if cli.json => {
            // The receipt and, beside it, what the chain does not hold of the resource.
            let mut value = serde_json::to_value(&status).map_err(Failure::local)?;
            if let Some(object) = value.as_object_mut() {
                object.insert("not_represented".into(), serde_json::json!(paths));
            }
            print_json(&value)?;
            Ok(show_code(&status))
        }
        Then::Decision if committed_ok => {
            // The verdict, read back signed by the requester (who may read its decision).
            let signer = RequestSigner::new(key, chain_id);
            let view = client.decision(&signer, &DecisionId(status.id)).await?;
            if cli.json {
                print_json(&serde_json::json!({ "transaction": status, "decision": view }))?;
                return Ok(match view.decision.outcome {
                    panacea_contracts::access::DecisionOutcome::Deny(_) => access::DENIED,
                    _ => 0,
                });
            }
            say!(
                "transaction {} committed at height {}",
                status.id,
                status.height.map(|h| h.to_string()).unwrap_or_default()
            );
            access::print_decision(&view)
        }
        _ => show_status(&status, cli.json),
    }
}

/// What a transaction command shows once its transaction is committed.
enum Then {
    /// The receipt.
    Receipt,
    /// The receipt, and (with `--json`) the resource's elements not represented on chain.
    Unrepresented(Vec<String>),
    /// The access decision the transaction made.
    Decision,
}

/// What a command does once its arguments are read.
#[allow(clippy::large_enum_variant, reason = "one per run of the command")]
enum Work {
    /// Sign and submit a call.
    Submit(Signer, Call),
    /// A signed read.
    Read(AuditCommand),
}

/// An organisation's risk parameters on chain, read signed by `key`.
async fn risk_parameters(
    client: &Client,
    key: &Path,
    org: &str,
) -> Result<Option<panacea_contracts::risk::RiskParameters>, Failure> {
    let org = OrgId::new(org).map_err(Failure::local)?;
    let signer = request_signer(client, key).await?;
    Ok(client.risk_parameters(&signer, &org).await?)
}

pub(crate) async fn request_signer(client: &Client, key: &Path) -> Result<RequestSigner, Failure> {
    let chain_id = ChainId::new(client.status().await?.chain_id).map_err(Failure::local)?;
    Ok(RequestSigner::new(load_key(key)?, chain_id))
}

async fn audit(client: &Client, command: AuditCommand, json: bool) -> Result<u8, Failure> {
    match command {
        AuditCommand::Events { signer, patient, org, after, limit, format } => {
            let query = AuditQuery {
                patient: patient.map(|p| hash("--patient", &p).map(PatientRef)).transpose()?,
                org: org.map(OrgId::new).transpose().map_err(Failure::local)?,
                after,
                limit: Some(limit),
                ..AuditQuery::default()
            };
            let page = client.audit_events(&request_signer(client, &signer.key).await?, &query).await?;
            match format.as_str() {
                "fhir" => print_json(&panacea_contracts::fhir::audit_event::bundle(&page.events))?,
                "csv" => {
                    say!("seq,recorded_ms,height,kind,outcome,purpose,requesting_org,data_class");
                    for e in &page.events {
                        let requester = e.agents.iter().find(|a| a.requestor).and_then(|a| a.org.as_ref());
                        say!(
                            "{},{},{},{},{:?},{},{},{}",
                            e.seq,
                            e.recorded.as_millis(),
                            e.height,
                            panacea_contracts::fhir::audit_event::kind_code(e.kind),
                            e.outcome,
                            e.purpose.map(|p| p.code()).unwrap_or(""),
                            requester.map(OrgId::as_str).unwrap_or(""),
                            e.entity.data_class.map(|d| d.code()).unwrap_or(""),
                        );
                    }
                }
                _ if json => print_json(&page)?,
                _ => {
                    for e in &page.events {
                        say!(
                            "#{:<6} height {:<6} {:<22} {:?}",
                            e.seq,
                            e.height,
                            panacea_contracts::fhir::audit_event::kind_code(e.kind),
                            e.outcome
                        );
                    }
                    if let Some(next) = page.next {
                        say!("more: --after {next}");
                    }
                }
            }
        }
        AuditCommand::Accounting { signer, patient } => {
            let patient = PatientRef(hash("--patient", &patient)?);
            let signer = request_signer(client, &signer.key).await?;
            let page = client.accounting(&signer, &patient, None, 1_000).await?;
            if json {
                print_json(&page)?;
            } else {
                for d in &page.disclosures {
                    say!(
                        "#{:<6} {} ms  to {:<20} {:<12} {}{}",
                        d.seq,
                        d.date.as_millis(),
                        d.recipient_org.as_ref().map(OrgId::as_str).unwrap_or("-"),
                        d.data_class.map(|c| c.code()).unwrap_or("-"),
                        d.purpose.map(|p| p.code()).unwrap_or("-"),
                        if d.emergency { "  (break-glass)" } else { "" }
                    );
                }
            }
        }
        AuditCommand::Consents { signer, patient } => {
            let patient = PatientRef(hash("--patient", &patient)?);
            let consents = client.patient_consents(&request_signer(client, &signer.key).await?, &patient).await?;
            if json {
                print_json(&consents)?;
            } else {
                for c in &consents {
                    say!("{} v{} {:?} recorded at {} ms", c.id, c.version, c.terms.status, c.recorded_at.as_millis());
                }
            }
        }
    }
    Ok(0)
}

/// Fetches a proof of a record, checks it against the genesis validator set and prints
/// the record. Exit code 6 when the node's answer does not verify.
async fn prove(
    client: &Client,
    signer: &Signer,
    genesis: &Path,
    kind: &str,
    id: &str,
    json: bool,
) -> Result<u8, Failure> {
    let text = std::fs::read_to_string(genesis)
        .map_err(|e| Failure::local(format!("cannot read {}: {e}", genesis.display())))?;
    let (anchor, _) = gov::followed_anchor(client, &text).await?;
    let record = match kind {
        "organisation" => ProvableRecord::Organisation(OrgId::new(id).map_err(Failure::local)?),
        "identity" => ProvableRecord::Identity(IdentityId(hash("the identity id", id)?)),
        "consent" => ProvableRecord::Consent(ConsentId(hash("the consent id", id)?)),
        "decision" => ProvableRecord::Decision(DecisionId(hash("the decision id", id)?)),
        "patient-consents" => ProvableRecord::PatientConsents(PatientRef(hash("the patient reference", id)?)),
        "product" => ProvableRecord::Product(hash("the firmware hash", id)?),
        "connection-rule" => ProvableRecord::ConnectionRule(hash("the rule id", id)?),
        "credential" => {
            let (holder, course) =
                id.split_once(':').ok_or_else(|| Failure::local("a credential is named HOLDER:COURSE"))?;
            ProvableRecord::Credential(IdentityId(hash("the holder", holder)?), course.to_string())
        }
        "self-assessment" => {
            let (org, version) =
                id.split_once(':').ok_or_else(|| Failure::local("a self-assessment is named ORG:VERSION"))?;
            let version = version.parse().map_err(|_| Failure::local("a version is a number"))?;
            ProvableRecord::SelfAssessment(OrgId::new(org).map_err(Failure::local)?, version)
        }
        other => return Err(Failure { code: 2, message: format!("{other:?} is not a provable kind") }),
    };
    let request_signer = request_signer(client, &signer.key).await?;
    let verified = match client.verified_record(&request_signer, &anchor, &record).await {
        Ok(verified) => verified,
        Err(ClientError::Unverified(e)) => {
            return Err(Failure { code: 6, message: format!("the node's answer does not verify: {e}") });
        }
        Err(e) => return Err(e.into()),
    };
    let unverified = |e: panacea_client_sdk::VerifyError| Failure { code: 6, message: e.to_string() };
    let value = match &record {
        ProvableRecord::Organisation(org) => serde_json::to_value(
            verified
                .record::<panacea_contracts::membership::Organisation>(&Record::Organisation(org.clone()))
                .map_err(unverified)?,
        ),
        ProvableRecord::Identity(id) => serde_json::to_value(
            verified.record::<panacea_contracts::identity::Identity>(&Record::Identity(*id)).map_err(unverified)?,
        ),
        ProvableRecord::Consent(id) => serde_json::to_value(verified.consent(*id).map_err(unverified)?),
        ProvableRecord::Decision(id) => serde_json::to_value(
            verified.record::<panacea_contracts::access::AccessDecision>(&Record::Decision(*id)).map_err(unverified)?,
        ),
        ProvableRecord::PatientConsents(patient) => serde_json::to_value(
            verified.record::<Vec<ConsentId>>(&Record::PatientConsents(*patient)).map_err(unverified)?,
        ),
        ProvableRecord::Product(firmware) => serde_json::to_value(
            verified.record::<panacea_contracts::product::Product>(&Record::Product(*firmware)).map_err(unverified)?,
        ),
        ProvableRecord::ConnectionRule(id) => serde_json::to_value(
            verified
                .record::<panacea_contracts::connection::ConnectionRule>(&Record::ConnectionRule(*id))
                .map_err(unverified)?,
        ),
        ProvableRecord::Credential(holder, course) => serde_json::to_value(
            verified
                .record::<panacea_contracts::training::Credential>(&Record::Credential(*holder, course.clone()))
                .map_err(unverified)?,
        ),
        ProvableRecord::SelfAssessment(org, version) => serde_json::to_value(
            verified
                .record::<panacea_contracts::csf::SelfAssessment>(&Record::SelfAssessment(org.clone(), *version))
                .map_err(unverified)?,
        ),
    }
    .map_err(Failure::local)?;
    let out = serde_json::json!({
        "verified": true,
        "state_height": verified.height,
        "state_root": verified.state_root,
        "certified_block": { "height": verified.block_height, "id": verified.block_id },
        "present": !value.is_null(),
        "record": value,
    });
    if json {
        print_json(&out)?;
    } else {
        say!("verified against the genesis validator set");
        say!("state of height {} (root {})", verified.height, verified.state_root);
        say!("attested by certified block {} at height {}", verified.block_id, verified.block_height);
        if value.is_null() {
            say!("proved absent");
        } else {
            say!("{}", serde_json::to_string_pretty(&value).map_err(Failure::local)?);
        }
    }
    Ok(0)
}

/// Prints a transaction's status; returns the exit code it means.
fn show_status(status: &TxStatus, json: bool) -> Result<u8, Failure> {
    let code = show_code(status);
    if json {
        print_json(status)?;
        return Ok(code);
    }
    show_receipt(status)?;
    Ok(code)
}

/// The exit code a transaction's status means.
fn show_code(status: &TxStatus) -> u8 {
    match (&status.status, &status.receipt) {
        (TxState::Committed, Some(receipt)) if receipt.is_ok() => 0,
        (TxState::Committed, Some(_)) => 4,
        // Committed; the receipt was not shown to this caller (unsigned, or a key that
        // may not read it).
        (TxState::Committed, None) => 0,
        (TxState::Pending, _) => 5,
        (TxState::Unknown, _) => 3,
    }
}

/// Prints a transaction's status and receipt for people.
fn show_receipt(status: &TxStatus) -> Result<(), Failure> {
    say!("transaction {}", status.id);
    match (&status.status, &status.receipt) {
        (TxState::Committed, Some(receipt)) => {
            let height = status.height.map(|h| h.to_string()).unwrap_or_default();
            match &receipt.outcome {
                Outcome::Ok { events } => {
                    say!("committed at height {height}: ok, {} audit event(s)", events.len());
                    for event in events {
                        say!("  {}", serde_json::to_string(event).map_err(Failure::local)?);
                    }
                }
                Outcome::Failed { code, message } => {
                    say!("committed at height {height}: failed ({code:?}): {message}");
                }
            }
        }
        (TxState::Committed, None) => {
            let height = status.height.map(|h| h.to_string()).unwrap_or_default();
            say!("committed at height {height} (the receipt needs --key: its signer's, an admin's or an auditor's)");
        }
        (TxState::Pending, _) => say!("pending: not committed yet; check later with `panacea tx {}`", status.id),
        (TxState::Unknown, _) => say!("unknown to this node"),
    }
    Ok(())
}
