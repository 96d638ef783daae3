//! The admin's tools (decision 0021): recording a visit's payment, managing
//! the admin accounts, and removing the demo clinic.

use super::doctors::require_admin;
use super::{Caller, Clinic, Conflict, Error, Refusal, Result, Thing};
use crate::domain::appointment::{Appointment, PaymentStatus};
use crate::domain::ids::{AccountId, AppointmentId};
use crate::domain::payment::{self, PaymentError};
use crate::domain::person::{Email, Errors, Password};
use crate::store::{AdminSwitch, StoreError};
use jiff::Timestamp;

/// Marks a visit's payment `to` (admins). Anyone who may see the visit but
/// is not an admin is refused (403); anyone else does not find it (404).
/// An illegal change (a refund of an unpaid visit, ...) is a conflict.
pub async fn set_payment(
    clinic: &Clinic,
    caller: &Caller,
    id: AppointmentId,
    to: PaymentStatus,
) -> Result<Appointment> {
    let a = match clinic.store.get_appointment(id).await? {
        Some(a) if caller.may_see_appointment(a.doctor_id, a.patient_id) => a,
        _ => return Err(Error::NotFound(Thing::Appointment)),
    };
    if !matches!(caller, Caller::Admin { .. }) {
        return Err(Error::Forbidden("Only an admin can record a payment."));
    }
    payment::check_change(a.payment_status, to, a.status).map_err(|e| {
        let text = e.to_string();
        match e {
            PaymentError::Unchanged(_) | PaymentError::Illegal { .. } | PaymentError::Cancelled => {
                Error::Conflict(Conflict::InvalidTransition(text))
            }
        }
    })?;
    clinic
        .store
        .set_payment(
            id,
            a.payment_status,
            to,
            caller.account(),
            clinic.now().as_second(),
        )
        .await?;
    clinic
        .store
        .get_appointment(id)
        .await?
        .ok_or(Error::NotFound(Thing::Appointment))
}

/// The payment statuses an admin could mark this visit with now (none for
/// anyone else): for the page's buttons; [`set_payment`] decides again.
pub fn payment_choices(caller: &Caller, a: &Appointment) -> Vec<PaymentStatus> {
    if !matches!(caller, Caller::Admin { .. }) {
        return Vec::new();
    }
    PaymentStatus::ALL
        .into_iter()
        .filter(|to| payment::check_change(a.payment_status, *to, a.status).is_ok())
        .collect()
}

/// An admin account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminAccount {
    pub id: AccountId,
    pub email: String,
    pub active: bool,
    pub demo: bool,
    pub created_at: Timestamp,
    /// The caller's own account.
    pub you: bool,
}

/// Every admin account, oldest first (admins).
pub async fn admins(clinic: &Clinic, caller: &Caller) -> Result<Vec<AdminAccount>> {
    require_admin(caller)?;
    let me = caller.account();
    Ok(clinic
        .store
        .list_admins()
        .await?
        .into_iter()
        .map(|a| AdminAccount {
            you: Some(a.id) == me,
            id: a.id,
            email: a.login,
            active: a.active,
            demo: a.demo,
            created_at: a.created_at,
        })
        .collect())
}

/// A new admin's login, as typed.
#[derive(Debug, Clone, Default)]
pub struct NewAdminForm {
    pub email: String,
    pub password: String,
}

/// Adds an admin (admins): a valid email not yet anyone's login, and a
/// password meeting the clinic's rules (the same as every account's).
pub async fn add_admin(
    clinic: &Clinic,
    caller: &Caller,
    form: &NewAdminForm,
) -> Result<AdminAccount> {
    require_admin(caller)?;
    let mut errs = Errors::default();
    let email = errs.check(Email::parse("email", &form.email));
    let password = errs.check(Password::parse("password", &form.password));
    let (Some(email), Some(password)) = (email, password) else {
        return Err(Error::Invalid(errs.0));
    };
    let hash = super::password_hash(&password).await?;
    let now = clinic.now();
    let id = clinic
        .store
        .add_admin(email.as_str(), &hash, caller.account(), now.as_second())
        .await?;
    Ok(AdminAccount {
        id,
        email: email.as_str().to_owned(),
        active: true,
        demo: false,
        created_at: now,
        you: false,
    })
}

/// Turns an admin account on or off (admins): never one's own, never the
/// last active admin. Turning one off ends its sessions.
pub async fn set_admin_active(
    clinic: &Clinic,
    caller: &Caller,
    id: AccountId,
    active: bool,
) -> Result<()> {
    require_admin(caller)?;
    if caller.account() == Some(id) {
        return Err(Error::Refused(Refusal::OwnAccount));
    }
    match clinic
        .store
        .switch_admin(id, active, caller.account(), clinic.now().as_second())
        .await?
    {
        AdminSwitch::Done => Ok(()),
        AdminSwitch::NotFound => Err(Error::NotFound(Thing::Record)),
        AdminSwitch::LastActive => Err(Error::Refused(Refusal::LastActiveAdmin)),
    }
}

/// Whether the demo clinic is (still) loaded (admins).
pub async fn demo_present(clinic: &Clinic, caller: &Caller) -> Result<bool> {
    require_admin(caller)?;
    Ok(clinic.store.count_demo_accounts().await? > 0)
}

/// Whether the landing page may offer this public demo login: it is an
/// active account of the demo clinic (marked so when loaded), not merely an
/// account with the same name.
pub async fn demo_login_offered(clinic: &Clinic, login: &str) -> Result<bool> {
    Ok(clinic.store.is_active_demo_login(login).await?)
}

/// What a removal deleted: rows per table.
pub type Removed = Vec<(&'static str, u64)>;

/// Removes the demo clinic's accounts and all their data (admins who are not
/// demo accounts themselves: the clinic keeps a way in). Real accounts and
/// their data stay.
pub async fn remove_demo(clinic: &Clinic, caller: &Caller) -> Result<Removed> {
    require_admin(caller)?;
    if let Some(me) = caller.account()
        && clinic.store.is_demo_account(me).await?
    {
        return Err(Error::Forbidden(
            "Log in with your own admin account to remove the demo clinic: \
             this demo admin is removed with it.",
        ));
    }
    remove_demo_from(&clinic.store, caller.account(), clinic.now().as_second()).await
}

/// The removal itself, for `medimeet demo remove` too (a start-up tool, like
/// the demo loader, that runs with no caller).
pub async fn remove_demo_from(
    store: &crate::store::Store,
    actor: Option<AccountId>,
    now: i64,
) -> Result<Removed> {
    store
        .remove_demo(actor, now)
        .await
        .map_err(|e: StoreError| Error::from(e))
}
