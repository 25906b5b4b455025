//! The one authorisation policy. Every route of the API names its [`Action`] in [`ROUTES`];
//! the server authenticates the caller, then asks [`decide`] before the handler runs, and asks
//! [`decide_on`] again, with the owning organisation, for an action on one stored object. No
//! handler checks roles of its own.
//!
//! The answers:
//! - [`Decision::Allow`];
//! - [`Denial::Forbidden`] (HTTP 403): the caller may see the thing but not do this to it, or
//!   may not do this kind of action at all;
//! - [`Denial::NotFound`] (HTTP 404): an object of another organisation that the caller has no
//!   business seeing, answered exactly as a missing one so that existence does not leak.
//!
//! Who reads across organisations: the platform (it runs the registry and the lists), auditors
//! (an organisation of kind `auditor`: "auditors everything read-only"), and, for proposals,
//! Commerce, which reviews what consortia submit. Consulted agencies and lenders will see what
//! is referred to them once referrals exist (the workflow); until then they see their own.

use crate::{OrgKind, Role};

/// The authenticated caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: String,
    pub org: String,
    pub org_kind: OrgKind,
    pub role: Role,
}

/// Everything a caller can ask of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    // Identity.
    ReadSelf,
    ReadOrganisations,
    ManageOrganisations,
    /// List one organisation's users ([`decide_on`] with that organisation).
    ReadUsers,
    /// Create users, issue and revoke tokens for others, in one organisation
    /// ([`decide_on`] with that organisation).
    ManageUsers,
    /// End one's own login session.
    EndSession,
    /// Issue or revoke one's own tokens.
    ManageOwnTokens,
    ReadOwnTokens,
    // Reference data and computations, each answer ledgered.
    ReadRulebook,
    Classify,
    Determine,
    ValidatePackage,
    // Screening.
    Screen,
    ReadLists,
    RefreshLists,
    ReadNewHits,
    // Proposals.
    SubmitProposal,
    ReadProposals,
    /// Read one proposal, its review and re-evaluations ([`decide_on`] with its owner).
    ReadProposal,
    /// Commerce opens its review of a submitted proposal and names the agencies it consults.
    StartReview,
    /// A consulted agency gives its opinion (on a proposal it is consulted on).
    GiveOpinion,
    /// Commerce designates or declines a proposal under review.
    DecideProposal,
    /// The program's catalogue of designated packages.
    ReadCatalogue,
    // Licences and shipments.
    /// Record a licence, licence exception or NLR in one's organisation's licence master.
    RecordLicence,
    ReadLicences,
    /// Read one licence and its shipments ([`decide_on`] with its owner).
    ReadLicence,
    /// Draw a shipment down a licence of one's own organisation ([`decide_on`]).
    RecordShipment,
    // Financing.
    /// Ask a federal lender to finance one's designated proposal.
    RequestFinancing,
    /// Financing requests: one's own, those made to one's lender, or all for overseers.
    ReadFinancing,
    /// A lender's decision on a request made to it.
    DecideFinancing,
    // Review of potential matches, and holds.
    /// Review items and holds: one's own organisation's, or all for overseers.
    ReadReviewQueue,
    /// Decide a potential match of one's organisation true or false.
    DecideMatch,
    /// Ask for a hold's release (the first person of four eyes).
    RequestRelease,
    /// Release a hold someone else asked to release (the second person).
    ReleaseHold,
    /// Reports (holds, releases, review decisions, blocked parties, licence utilisation).
    ReadReports,
    /// Register one's organisation's webhooks.
    ManageWebhooks,
    /// Read one's organisation's webhooks and their deliveries.
    ReadWebhooks,
    // Location verification.
    EnrolLandmark,
    ReadLandmarks,
    EnrolChip,
    /// Read one chip, its verdicts and map ([`decide_on`] with its owner).
    ReadChip,
    SubmitMeasurement,
    ReadAlerts,
    ResolveAlert,
    // The ledger.
    ReadLedgerProofs,
    ReadLedgerEntries,
    // Operations.
    ReadMetrics,
}

/// Why an action was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    Forbidden,
    NotFound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny(Denial),
}

impl Decision {
    pub fn allowed(self) -> bool {
        self == Decision::Allow
    }
}

/// What a route needs of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Open to anyone: liveness and the API's own description.
    Public,
    /// An authenticated caller allowed this action.
    Needs(Action),
    /// The credential is in the body: a password login, which the handler checks itself and
    /// answers 401 (`unauthenticated`) however it fails.
    Login,
}

/// Every route of the API, `(method, path template as in the OpenAPI document, access)`.
/// The server refuses to start with a route missing here, and a test checks the table against
/// the OpenAPI document, so that no operation is left open by forgetting it.
pub const ROUTES: &[(&str, &str, Access)] = {
    use Access::{Needs, Public};
    use Action::*;
    &[
        ("GET", "/v1/health", Public),
        ("GET", "/openapi.json", Public),
        ("GET", "/metrics", Needs(ReadMetrics)),
        ("GET", "/v1/me", Needs(ReadSelf)),
        ("POST", "/v1/login", Access::Login),
        ("POST", "/v1/logout", Needs(EndSession)),
        ("GET", "/v1/orgs", Needs(ReadOrganisations)),
        ("POST", "/v1/orgs", Needs(ManageOrganisations)),
        ("GET", "/v1/orgs/{id}/users", Needs(ReadUsers)),
        ("POST", "/v1/orgs/{id}/users", Needs(ManageUsers)),
        ("POST", "/v1/tokens", Needs(ManageOwnTokens)),
        ("GET", "/v1/tokens", Needs(ReadOwnTokens)),
        ("POST", "/v1/tokens/{id}/revoke", Needs(ManageOwnTokens)),
        ("GET", "/v1/rulebook", Needs(ReadRulebook)),
        ("POST", "/v1/classify", Needs(Classify)),
        ("POST", "/v1/determine", Needs(Determine)),
        ("POST", "/v1/packages/validate", Needs(ValidatePackage)),
        ("POST", "/v1/screen", Needs(Screen)),
        ("POST", "/v1/screen/batch", Needs(Screen)),
        ("GET", "/v1/lists", Needs(ReadLists)),
        ("POST", "/v1/lists/refresh", Needs(RefreshLists)),
        ("GET", "/v1/lists/{id}/new-hits", Needs(ReadNewHits)),
        ("POST", "/v1/proposals", Needs(SubmitProposal)),
        ("GET", "/v1/proposals", Needs(ReadProposals)),
        ("GET", "/v1/proposals/{id}", Needs(ReadProposal)),
        ("GET", "/v1/proposals/{id}/review", Needs(ReadProposal)),
        (
            "GET",
            "/v1/proposals/{id}/reevaluations",
            Needs(ReadProposal),
        ),
        ("GET", "/v1/proposals/{id}/history", Needs(ReadProposal)),
        ("POST", "/v1/proposals/{id}/submit", Needs(SubmitProposal)),
        ("POST", "/v1/proposals/{id}/withdraw", Needs(SubmitProposal)),
        (
            "POST",
            "/v1/proposals/{id}/consultation",
            Needs(StartReview),
        ),
        ("POST", "/v1/proposals/{id}/opinion", Needs(GiveOpinion)),
        ("POST", "/v1/proposals/{id}/decision", Needs(DecideProposal)),
        ("GET", "/v1/catalogue", Needs(ReadCatalogue)),
        ("POST", "/v1/licences", Needs(RecordLicence)),
        ("GET", "/v1/licences", Needs(ReadLicences)),
        ("GET", "/v1/licences/{id}", Needs(ReadLicence)),
        ("GET", "/v1/licences/{id}/shipments", Needs(ReadLicence)),
        ("POST", "/v1/licences/{id}/shipments", Needs(RecordShipment)),
        (
            "POST",
            "/v1/proposals/{id}/financing",
            Needs(RequestFinancing),
        ),
        ("GET", "/v1/financing", Needs(ReadFinancing)),
        ("GET", "/v1/financing/{id}", Needs(ReadFinancing)),
        (
            "POST",
            "/v1/financing/{id}/decision",
            Needs(DecideFinancing),
        ),
        ("GET", "/v1/review-items", Needs(ReadReviewQueue)),
        ("POST", "/v1/review-items/{id}/decision", Needs(DecideMatch)),
        ("GET", "/v1/holds", Needs(ReadReviewQueue)),
        (
            "POST",
            "/v1/holds/{id}/release-request",
            Needs(RequestRelease),
        ),
        ("POST", "/v1/holds/{id}/release", Needs(ReleaseHold)),
        ("GET", "/v1/reports/{report}", Needs(ReadReports)),
        ("POST", "/v1/webhooks", Needs(ManageWebhooks)),
        ("GET", "/v1/webhooks", Needs(ReadWebhooks)),
        ("GET", "/v1/webhooks/{id}/deliveries", Needs(ReadWebhooks)),
        ("POST", "/v1/locate/landmarks", Needs(EnrolLandmark)),
        ("GET", "/v1/locate/landmarks", Needs(ReadLandmarks)),
        ("GET", "/v1/locate/landmarks/alerts", Needs(ReadAlerts)),
        ("POST", "/v1/locate/chips", Needs(EnrolChip)),
        ("GET", "/v1/locate/chips/{id}", Needs(ReadChip)),
        ("GET", "/v1/locate/chips/{id}/verdicts", Needs(ReadChip)),
        ("GET", "/v1/locate/chips/{id}/map.svg", Needs(ReadChip)),
        ("POST", "/v1/locate/measurements", Needs(SubmitMeasurement)),
        ("GET", "/v1/locate/alerts", Needs(ReadAlerts)),
        (
            "POST",
            "/v1/locate/alerts/{id}/resolve",
            Needs(ResolveAlert),
        ),
        ("GET", "/v1/ledger/checkpoint", Needs(ReadLedgerProofs)),
        ("GET", "/v1/ledger/proof/inclusion", Needs(ReadLedgerProofs)),
        (
            "GET",
            "/v1/ledger/proof/consistency",
            Needs(ReadLedgerProofs),
        ),
        (
            "GET",
            "/v1/ledger/entries/{index}",
            Needs(ReadLedgerEntries),
        ),
    ]
};

/// The access a route needs, by method and path template; `None` for a route the table does
/// not know (the server treats that as a programming error and refuses it).
pub fn route_access(method: &str, template: &str) -> Option<Access> {
    ROUTES
        .iter()
        .find(|(m, p, _)| m.eq_ignore_ascii_case(method) && *p == template)
        .map(|(_, _, a)| *a)
}

impl Action {
    /// Whether the action changes stored state (a ledger entry counts): auditors never may.
    pub fn writes(self) -> bool {
        use Action::*;
        !matches!(
            self,
            ReadSelf
                | EndSession
                | ReadOrganisations
                | ReadUsers
                | ReadOwnTokens
                | ReadRulebook
                | ValidatePackage
                | ReadLists
                | ReadNewHits
                | ReadProposals
                | ReadProposal
                | ReadCatalogue
                | ReadLicences
                | ReadLicence
                | ReadFinancing
                | ReadReviewQueue
                | ReadReports
                | ReadWebhooks
                | ReadLandmarks
                | ReadChip
                | ReadAlerts
                | ReadLedgerProofs
                | ReadLedgerEntries
                | ReadMetrics
        )
    }
}

/// Organisations whose users read every organisation's objects.
fn reads_everything(p: &Principal) -> bool {
    matches!(p.org_kind, OrgKind::Platform | OrgKind::Auditor)
}

fn allow(yes: bool) -> Decision {
    if yes {
        Decision::Allow
    } else {
        Decision::Deny(Denial::Forbidden)
    }
}

/// Whether the caller may perform `action` at all (the check before any handler runs).
pub fn decide(p: &Principal, action: Action) -> Decision {
    use Action::*;
    use Role::*;
    // Auditors, by role or by organisation, read and never change.
    if action.writes() && (p.role == Auditor || p.org_kind == OrgKind::Auditor) {
        return Decision::Deny(Denial::Forbidden);
    }
    let platform = p.org_kind == OrgKind::Platform;
    let proposer = matches!(p.org_kind, OrgKind::Consortium | OrgKind::Exporter);
    allow(match action {
        ReadSelf | EndSession | ManageOwnTokens | ReadOwnTokens => true,
        ManageOrganisations => platform && p.role == Admin,
        ReadOrganisations => (platform && p.role == Admin) || p.org_kind == OrgKind::Auditor,
        // Which organisation is decided by `decide_on`; here: an admin somewhere.
        ManageUsers => p.role == Admin,
        ReadUsers => p.role == Admin || p.org_kind == OrgKind::Auditor,
        ReadRulebook | ValidatePackage | ReadLists | ReadLandmarks | ReadLedgerProofs => true,
        Classify | Determine | Screen => matches!(
            p.role,
            Admin | ComplianceOfficer | Reviewer | Approver | LenderOfficer
        ),
        // The platform's own administrators replace the restricted-party lists; nobody else.
        RefreshLists => platform && p.role == Admin,
        // New hits name parties of every organisation (parties carry no owner yet).
        ReadNewHits => reads_everything(p) || p.org_kind == OrgKind::Commerce,
        SubmitProposal => proposer && matches!(p.role, Admin | ComplianceOfficer),
        // Listing is filtered to what `decide_on(ReadProposal)` allows.
        ReadProposals | ReadProposal | ReadCatalogue => true,
        // EO 14320 §3: Commerce reviews and designates, consulting State, War, Energy, OSTP.
        StartReview => p.org_kind == OrgKind::Commerce && matches!(p.role, Reviewer | Approver),
        GiveOpinion => {
            p.org_kind == OrgKind::Agency && matches!(p.role, Admin | Reviewer | Approver)
        }
        DecideProposal => p.org_kind == OrgKind::Commerce && p.role == Approver,
        // Exporters keep their licences and ship under them (SAP GTS, Oracle GTM: F4, F5).
        RecordLicence | RecordShipment => proposer && matches!(p.role, Admin | ComplianceOfficer),
        ReadLicences | ReadLicence | ReadFinancing | ReadReviewQueue | ReadReports => true,
        ManageWebhooks => matches!(p.role, Admin | ComplianceOfficer),
        ReadWebhooks => matches!(p.role, Admin | ComplianceOfficer | Auditor),
        DecideMatch | RequestRelease => matches!(p.role, Admin | ComplianceOfficer | Reviewer),
        ReleaseHold => matches!(p.role, Admin | Approver),
        RequestFinancing => proposer && matches!(p.role, Admin | ComplianceOfficer),
        // EXIM, DFC, USTDA: the lender's officers decide what is asked of them.
        DecideFinancing => {
            p.org_kind == OrgKind::Lender && matches!(p.role, LenderOfficer | Approver)
        }
        // Landmarks are the registry's trust anchors: a false position forges verdicts, so
        // only the platform enrols them and submits what they measure.
        EnrolLandmark => platform && matches!(p.role, Admin | Operator),
        SubmitMeasurement => platform && matches!(p.role, Admin | Operator),
        EnrolChip => {
            (platform || p.org_kind == OrgKind::Operator) && matches!(p.role, Admin | Operator)
        }
        ReadChip => true,
        // Alerts list every organisation's chips (they carry no filter yet).
        ReadAlerts => reads_everything(p) || p.org_kind == OrgKind::Commerce,
        ResolveAlert => {
            (platform && matches!(p.role, Admin | Operator | Approver))
                || (p.org_kind == OrgKind::Commerce && p.role == Approver)
        }
        ReadLedgerEntries => reads_everything(p),
        ReadMetrics => reads_everything(p),
    })
}

/// Whether the caller sees every organisation's objects for `action`, not only its own's (a
/// listing is filtered to the caller's organisation otherwise).
pub fn reads_across(p: &Principal, action: Action) -> bool {
    reads_everything(p)
        || match action {
            // Commerce reviews every proposal submitted to the program.
            Action::ReadProposal | Action::ReadProposals => p.org_kind == OrgKind::Commerce,
            Action::ReadChip => p.org_kind == OrgKind::Commerce,
            Action::ReadLicence
            | Action::ReadLicences
            | Action::ReadFinancing
            | Action::ReadReviewQueue => p.org_kind == OrgKind::Commerce,
            _ => false,
        }
}

/// Whether the caller may perform `action` on an object owned by `owner` (an organisation
/// id; `None` for objects stored before owners were recorded, which belong to the platform).
/// Refuses with [`Denial::NotFound`] where the caller may not even see the object.
pub fn decide_on(p: &Principal, action: Action, owner: Option<&str>) -> Decision {
    let first = decide(p, action);
    if !first.allowed() {
        return first;
    }
    let own = owner == Some(p.org.as_str());
    if !own && !reads_across(p, action) {
        return Decision::Deny(Denial::NotFound);
    }
    if action == Action::ManageUsers && !own && p.org_kind != OrgKind::Platform {
        return Decision::Deny(Denial::Forbidden);
    }
    Decision::Allow
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(kind: OrgKind, role: Role) -> Principal {
        Principal {
            user: "usr_1".into(),
            org: format!("org_{kind}"),
            org_kind: kind,
            role,
        }
    }

    #[test]
    fn every_route_is_in_the_table_once() {
        let mut seen = std::collections::HashSet::new();
        for (m, p, _) in ROUTES {
            assert!(seen.insert((m, p)), "{m} {p} twice");
        }
        assert_eq!(route_access("get", "/v1/health"), Some(Access::Public));
        assert_eq!(route_access("DELETE", "/v1/health"), None);
        assert_eq!(route_access("GET", "/v1/nowhere"), None);
    }

    #[test]
    fn only_health_and_the_document_are_public() {
        let public: Vec<_> = ROUTES
            .iter()
            .filter(|(_, _, a)| *a == Access::Public)
            .map(|(m, p, _)| format!("{m} {p}"))
            .collect();
        assert_eq!(public, ["GET /v1/health", "GET /openapi.json"]);
        // A GET never changes state (issue 10): its action is a read.
        for (m, p, a) in ROUTES {
            if let (&"GET", Access::Needs(x)) = (m, a) {
                assert!(!x.writes(), "GET {p} is declared as a write");
            }
        }
    }

    #[test]
    fn auditors_never_change_anything() {
        for (_, _, a) in ROUTES {
            let Access::Needs(action) = *a else { continue };
            for kind in OrgKind::ALL {
                let d = decide(&who(kind, Role::Auditor), action);
                assert_eq!(d.allowed(), d.allowed() && !action.writes(), "{action:?}");
            }
            for role in Role::ALL {
                if action.writes() {
                    assert!(!decide(&who(OrgKind::Auditor, role), action).allowed());
                }
            }
        }
        assert!(decide(
            &who(OrgKind::Auditor, Role::Auditor),
            Action::ReadLedgerEntries
        )
        .allowed());
    }

    #[test]
    fn landmarks_and_lists_belong_to_the_platform() {
        for kind in OrgKind::ALL {
            for role in Role::ALL {
                let p = who(kind, role);
                for a in [
                    Action::EnrolLandmark,
                    Action::SubmitMeasurement,
                    Action::RefreshLists,
                    Action::ManageOrganisations,
                ] {
                    if decide(&p, a).allowed() {
                        assert_eq!(kind, OrgKind::Platform, "{a:?} by {kind} {role}");
                    }
                }
            }
        }
    }

    #[test]
    fn another_organisations_object_is_not_found_unless_the_reader_oversees_it() {
        let officer = who(OrgKind::Consortium, Role::ComplianceOfficer);
        let other = Some("org_someone_else");
        assert!(decide_on(&officer, Action::ReadProposal, Some(&officer.org)).allowed());
        assert_eq!(
            decide_on(&officer, Action::ReadProposal, other),
            Decision::Deny(Denial::NotFound)
        );
        assert_eq!(
            decide_on(&officer, Action::ReadProposal, None),
            Decision::Deny(Denial::NotFound)
        );
        let commerce = who(OrgKind::Commerce, Role::Reviewer);
        assert!(decide_on(&commerce, Action::ReadProposal, other).allowed());
        let auditor = who(OrgKind::Auditor, Role::Auditor);
        assert!(decide_on(&auditor, Action::ReadChip, other).allowed());
        let lender = who(OrgKind::Lender, Role::LenderOfficer);
        assert_eq!(
            decide_on(&lender, Action::ReadChip, other),
            Decision::Deny(Denial::NotFound)
        );
        // Users: an admin manages its own organisation; the platform's admin every one.
        let admin = who(OrgKind::Exporter, Role::Admin);
        assert!(decide_on(&admin, Action::ManageUsers, Some(&admin.org)).allowed());
        assert_eq!(
            decide_on(&admin, Action::ManageUsers, other),
            Decision::Deny(Denial::NotFound)
        );
        let root = who(OrgKind::Platform, Role::Admin);
        assert!(decide_on(&root, Action::ManageUsers, other).allowed());
        let platform_reader = who(OrgKind::Platform, Role::Reviewer);
        assert_eq!(
            decide_on(&platform_reader, Action::ManageUsers, other),
            Decision::Deny(Denial::Forbidden)
        );
    }

    #[test]
    fn submitting_a_proposal_takes_a_proposer() {
        assert!(decide(
            &who(OrgKind::Consortium, Role::ComplianceOfficer),
            Action::SubmitProposal
        )
        .allowed());
        assert!(decide(&who(OrgKind::Exporter, Role::Admin), Action::SubmitProposal).allowed());
        assert!(!decide(&who(OrgKind::Commerce, Role::Admin), Action::SubmitProposal).allowed());
        assert!(!decide(
            &who(OrgKind::Consortium, Role::Operator),
            Action::SubmitProposal
        )
        .allowed());
    }
}
