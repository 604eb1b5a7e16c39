//! The JSON bodies of write requests: exact shapes, unset fields skipped, the loss-reason rule.

use amo_api::leads::{CompanyLink, ContactLink, NewLeadEmbedded};
use amo_api::{LeadPatch, NewLead, NewNote, NewTask, TagRef, TaskPatch};
use serde_json::{json, Value};

fn body(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap()
}

#[test]
fn a_follow_up_task_for_a_lead() {
    let task = NewTask {
        task_type_id: Some(1),
        responsible_user_id: Some(504_141),
        ..NewTask::for_lead(9_785_993, "Call the client", 1_588_885_140)
    };
    assert_eq!(
        body(&[task]),
        json!([{"text": "Call the client", "complete_till": 1_588_885_140, "task_type_id": 1,
                "entity_id": 9_785_993, "entity_type": "leads", "responsible_user_id": 504_141}])
    );
    let minimal = NewTask {
        entity_id: None,
        entity_type: None,
        ..NewTask::for_lead(1, "x", 2)
    };
    assert_eq!(body(&minimal), json!({"text": "x", "complete_till": 2}));
}

#[test]
fn completing_a_task() {
    assert_eq!(
        body(&TaskPatch::complete(Some("Reached the client".into()))),
        json!({"is_completed": true, "result": {"text": "Reached the client"}})
    );
    assert_eq!(
        body(&TaskPatch::complete(None)),
        json!({"is_completed": true})
    );
    let batch_item = TaskPatch {
        id: Some(7),
        ..TaskPatch::complete(None)
    };
    assert_eq!(
        body(&[batch_item]),
        json!([{"id": 7, "is_completed": true}])
    );
}

#[test]
fn moving_a_lead_sends_pipeline_and_status_together() {
    assert_eq!(
        body(&LeadPatch::move_to(47_521, 525_743)),
        json!({"pipeline_id": 47_521, "status_id": 525_743})
    );
    assert_eq!(
        body(&LeadPatch::win(47_521)),
        json!({"pipeline_id": 47_521, "status_id": 142})
    );
}

#[test]
fn a_loss_reason_only_travels_with_status_143() {
    assert_eq!(
        body(&LeadPatch::lose(47_521, Some(7323))),
        json!({"pipeline_id": 47_521, "status_id": 143, "loss_reason_id": 7323})
    );
    assert_eq!(
        body(&LeadPatch::lose(47_521, None)),
        json!({"pipeline_id": 47_521, "status_id": 143})
    );
    // Every constructor other than `lose` leaves the reason out, even when moving to 143 directly.
    for patch in [
        LeadPatch::move_to(1, 143),
        LeadPatch::move_to(1, 20),
        LeadPatch::win(1),
        LeadPatch::new().add_tag(TagRef::id(1)),
    ] {
        let sent = body(&patch);
        assert!(sent.get("loss_reason_id").is_none(), "{sent}");
    }
}

#[test]
fn tag_deltas_and_batch_ids() {
    let patch = LeadPatch::lose(47_521, Some(7323))
        .add_tag(TagRef::name("Second tag"))
        .delete_tag(TagRef::name("First tag"))
        .for_lead(54_886);
    assert_eq!(
        body(&[patch]),
        json!([{"id": 54_886, "pipeline_id": 47_521, "status_id": 143, "loss_reason_id": 7323,
                "tags_to_add": [{"name": "Second tag"}], "tags_to_delete": [{"name": "First tag"}]}])
    );
    let tags_only = LeadPatch::new().add_tag(TagRef::id(2707));
    assert_eq!(body(&tags_only), json!({"tags_to_add": [{"id": 2707}]}));
    assert!(LeadPatch::new().is_empty());
    assert!(!tags_only.is_empty());
    assert!(!LeadPatch::win(1).is_empty());
}

#[test]
fn notes() {
    assert_eq!(
        body(&[NewNote::common("Payment schedule created")]),
        json!([{"note_type": "common", "params": {"text": "Payment schedule created"}}])
    );
    let mut service = NewNote::service_message("LeadGuard", "Deal flagged").for_lead(167_353);
    service.is_need_to_trigger_digital_pipeline = Some(false);
    service.request_id = Some("n1".into());
    assert_eq!(service.note_type(), "service_message");
    assert_eq!(
        body(&service),
        json!({"entity_id": 167_353, "note_type": "service_message", "params": {"text": "Deal flagged", "service": "LeadGuard"},
               "is_need_to_trigger_digital_pipeline": false, "request_id": "n1"})
    );
}

#[test]
fn a_new_lead_with_links_and_tags() {
    let lead = NewLead {
        name: Some("Repeat order".into()),
        price: Some(20_000),
        pipeline_id: Some(3_177_727),
        status_id: Some(32_392_159),
        embedded: NewLeadEmbedded {
            contacts: vec![ContactLink {
                id: 10_971_465,
                is_main: Some(true),
            }],
            companies: vec![CompanyLink { id: 10_971_463 }],
            tags: vec![TagRef::name("repeat")],
        },
        request_id: Some("0".into()),
        ..NewLead::default()
    };
    assert_eq!(
        body(&[lead]),
        json!([{"name": "Repeat order", "price": 20_000, "pipeline_id": 3_177_727, "status_id": 32_392_159,
                "_embedded": {"contacts": [{"id": 10_971_465, "is_main": true}], "companies": [{"id": 10_971_463}],
                              "tags": [{"name": "repeat"}]},
                "request_id": "0"}])
    );
    assert_eq!(body(&NewLead::default()), json!({}));
    let only_tags = NewLead {
        embedded: NewLeadEmbedded {
            tags: vec![TagRef::id(5)],
            ..NewLeadEmbedded::default()
        },
        ..NewLead::default()
    };
    assert_eq!(
        body(&only_tags),
        json!({"_embedded": {"tags": [{"id": 5}]}})
    );
}
