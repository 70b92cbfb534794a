//! The training item editor (managers): title, kind, tags, audience, the Markdown body with a
//! live preview, attachments, the quiz, the assignment; save a draft, publish, save a
//! correction or publish a new version, and move to the trash.
//!
//! The quiz is edited as structure in the draft (questions and options are added, removed
//! and moved by buttons, never typed as text); what each button decides is in the domain
//! (`Question::mark`, `Quiz::move_question`, `ItemDraft::save` …).

use std::time::Duration;

use domain::{
    Attachment, Audience, FileRefusal, ItemDraft, ItemKind, Publication, Question, QuestionKind,
    Quiz, Sha256, TrainingItem, ValidationErrors,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use crate::components::app_bar::AppBar;
use crate::components::files::{attachment_limit, picked_files};
use crate::components::focus::focus_when_drawn;
use crate::components::form::{
    focus_first_error, go_back, ChoiceField, FieldErrorText, FormBanner, TextField,
};
use crate::components::markdown::{ImageUrl, Markdown};
use crate::components::menu::TrashMenu;
use crate::components::people::{team_reps, toggle, RepChecks};
use crate::i18n::{fill, use_i18n, I18n};
use crate::platform;
use crate::routes::not_found::NotFound;
use crate::routes::training_item::{attachment_urls, format_size};
use crate::routes::{route_id, stored_record};
use crate::state::{use_app, AppState};
use crate::store::{Change, Edit};

/// What the file picker offers: `domain::ATTACHMENT_TYPES`.
const ACCEPT: &str = "image/png,image/jpeg,image/webp,image/gif,application/pdf";

#[component]
pub fn ItemEditorPage() -> impl IntoView {
    let state = use_app();
    let is_manager = Memo::new(move |_| state.is_manager());
    let id = route_id().get_untracked();
    move || {
        if !is_manager.get() {
            return view! { <ManagersOnly text_key="editor.managers_only"/> }.into_any();
        }
        match id {
            None => view! { <ItemEditor existing=None/> }.into_any(),
            Some(id) => view! { <StoredItemEditor id/> }.into_any(),
        }
    }
}

/// The editor of an item on the device, read once (the editor then keeps what it showed).
#[component]
fn StoredItemEditor(id: domain::Id) -> impl IntoView {
    let i = use_i18n();
    let found = stored_record::<TrainingItem>(id);
    move || match found.get() {
        None => {
            view! { <p class="empty" role="status">{move || i.t("app.loading")}</p> }.into_any()
        }
        Some(Some(item)) if !item.deleted => view! { <ItemEditor existing=Some(item)/> }.into_any(),
        Some(_) => view! { <NotFound/> }.into_any(),
    }
}

/// What a rep sees at a manager's address.
#[component]
pub fn ManagersOnly(text_key: &'static str) -> impl IntoView {
    let i = use_i18n();
    view! {
        <section class="page not-found" data-testid="managers-only">
            <AppBar parent={"/training".to_string()}><h1>{move || i.t("training.managers_only_title")}</h1></AppBar>
            <p class="empty">{move || i.t(text_key)}</p>
            <A href="/training" attr:class="button">{move || i.t("training.back")}</A>
        </section>
    }
}

#[component]
fn ItemEditor(existing: Option<TrainingItem>) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let navigate = use_navigate();
    let now = platform::now_ms();
    let meta = match &existing {
        Some(item) => item.meta(),
        None => crate::routes::training::my_new_meta(&state, now),
    };
    let item_id = meta.id;
    let is_new = existing.is_none();
    let published = existing.as_ref().is_some_and(|item| item.published);
    let version = existing.as_ref().map_or(0, |item| item.version);
    let draft = RwSignal::new(
        existing
            .as_ref()
            .map(ItemDraft::from_item)
            .unwrap_or_default(),
    );
    let pass_mark = RwSignal::new(
        draft
            .with_untracked(|d| d.quiz.as_ref().map(|q| q.pass_mark))
            .unwrap_or(60)
            .to_string(),
    );
    let errors = RwSignal::new(ValidationErrors::default());
    let banner = RwSignal::new(None::<&'static str>);
    let saving = RwSignal::new(false);
    // What the manager sees now: the save writes only what they change from it.
    let session = state.edit_session(existing.as_ref());
    let before = StoredValue::new(existing.clone());

    let save = move |publication: Publication| {
        if saving.get_untracked() {
            return;
        }
        let now = platform::now_ms();
        let mut found = ValidationErrors::default();
        if draft.with_untracked(|d| d.quiz.is_some()) {
            match domain::parse_pass_mark(&pass_mark.get_untracked()) {
                Ok(mark) => draft.update(|d| {
                    if let Some(quiz) = &mut d.quiz {
                        quiz.pass_mark = mark;
                    }
                }),
                Err(reason) => found.push("pass_mark", reason),
            }
        }
        let saved = before.with_value(|before| {
            draft.with_untracked(|d| d.save(&meta, before.as_ref(), publication, now))
        });
        let item = match saved {
            Ok(item) if found.is_empty() => item,
            result => {
                if let Err(more) = result {
                    found.0.extend(more.0);
                }
                errors.set(found);
                banner.set(Some("form.fix_errors"));
                focus_first_error();
                return;
            }
        };
        errors.set(ValidationErrors::default());
        banner.set(None);
        saving.set(true);
        let done_key = match publication {
            Publication::Publish => "editor.published",
            Publication::Keep => "form.saved",
        };
        let navigate = navigate.clone();
        spawn_local(async move {
            let edit = Edit {
                change: Change::TrainingItem(item),
                session: session.get_value(),
            };
            match state.save_edits(vec![edit]).await {
                Ok(()) => {
                    state.notify(i.now(done_key), false, None);
                    navigate(&format!("/training/{item_id}"), Default::default());
                }
                Err(err) => banner.set(Some(err.key())),
            }
            saving.set(false);
        });
    };
    let save_for_submit = save.clone();
    let on_submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        save_for_submit(Publication::Keep);
    };
    let publish = move |_| save(Publication::Publish);

    let trash_item = existing.clone();
    view! {
        <section class="page form-page item-editor">
            <AppBar parent={if is_new { "/training".to_string() } else { format!("/training/{item_id}") }}>
                <h1>{move || i.t(if is_new { "editor.new_title" } else { "editor.edit_title" })}</h1>
                <span class="badge" data-testid="editor-state">
                    {move || if published {
                        fill(i.t("editor.state_published"), version)
                    } else {
                        i.t("training.draft").to_string()
                    }}
                </span>
                {trash_item.map(|item| view! { <TrashItem item banner/> })}
            </AppBar>
            <form novalidate on:submit=on_submit data-testid="item-form">
                <FormBanner message=banner/>
                <TextField draft get=|d| &d.title set=|d| &mut d.title label="editor.field_title"
                    field="title" errors prefix="i" required=true testid="editor-title"/>
                <div class="field-row">
                    <ChoiceField draft get=|d| Some(d.kind) set=set_kind options=&ItemKind::ALL
                        label="editor.field_kind" field="kind" errors prefix="i" testid="editor-kind"/>
                    <ChoiceField draft get=|d| Some(d.audience)
                        set=|d, v| if let Some(v) = v { d.audience = v }
                        options=&Audience::ALL label="editor.field_audience" field="audience"
                        errors prefix="i" testid="editor-audience"/>
                </div>
                <TextField draft get=|d| &d.tags set=|d| &mut d.tags label="field.tags" field="tags"
                    errors prefix="i" hint="field.tags_hint" testid="editor-tags"/>
                <BodyEditor draft errors/>
                <AttachmentsEditor draft errors/>
                <QuizEditor draft pass_mark errors/>
                <AssignmentEditor draft errors/>
                <FieldErrorText errors field="published" id="i-published-error".to_string()/>
                <div class="form-actions">
                    {if published {
                        view! {
                            <button type="submit" class="button primary" data-testid="save-changes"
                                disabled=move || saving.get()>
                                {move || i.t("editor.save_changes")}
                            </button>
                            <button type="button" class="button" data-testid="publish-new-version"
                                disabled=move || saving.get() on:click=publish>
                                {move || i.t("editor.publish_new_version")}
                            </button>
                        }.into_any()
                    } else {
                        view! {
                            <button type="submit" class="button" data-testid="save-draft"
                                disabled=move || saving.get()>
                                {move || i.t("editor.save_draft")}
                            </button>
                            <button type="button" class="button primary" data-testid="publish"
                                disabled=move || saving.get() on:click=publish>
                                {move || i.t("editor.publish")}
                            </button>
                        }.into_any()
                    }}
                    <button type="button" class="button" data-testid="cancel" on:click=move |_| go_back()>
                        {move || i.t("form.cancel")}
                    </button>
                </div>
                <p class="hint">
                    {move || i.t(if published { "editor.versions_hint" } else { "editor.draft_hint" })}
                </p>
            </form>
        </section>
    }
}

/// The kind select also starts a quiz when the kind becomes one.
fn set_kind(draft: &mut ItemDraft, kind: Option<ItemKind>) {
    if let Some(kind) = kind {
        draft.kind = kind;
        if kind == ItemKind::Quiz && draft.quiz.is_none() {
            draft.quiz = Some(Quiz::blank());
        }
    }
}

/// The Markdown body and its preview: side by side where there is room, a Write/Preview
/// switch on a phone. The preview follows the typing after a short pause, so a long text is
/// not rebuilt at every keystroke.
#[component]
fn BodyEditor(draft: RwSignal<ItemDraft>, errors: RwSignal<ValidationErrors>) -> impl IntoView {
    let i = use_i18n();
    let previewing = RwSignal::new(false);
    let shas = Memo::new(move |_| {
        draft.with(|d| {
            d.attachments
                .iter()
                .map(|a| a.sha256.clone())
                .collect::<Vec<_>>()
        })
    });
    let urls = attachment_urls(move || shas.get());
    let image_url: ImageUrl = Callback::new(move |sha: String| {
        let sha = Sha256::parse(&sha).ok()?;
        urls.with(|u| u.get(&sha).cloned())
    });
    let body = Memo::new(move |_| draft.with(|d| d.body.clone()));
    let shown = RwSignal::new(body.get_untracked());
    let pending = StoredValue::new(None::<TimeoutHandle>);
    Effect::new(move |_| {
        let text = body.get();
        if let Some(handle) = pending.get_value() {
            handle.clear();
        }
        let handle = set_timeout_with_handle(
            move || {
                shown.try_set(text);
            },
            Duration::from_millis(200),
        )
        .ok();
        pending.set_value(handle);
    });
    let invalid = move || errors.with(|e| e.get("body").is_some());
    let described = move || {
        if invalid() {
            "i-body-hint i-body-error"
        } else {
            "i-body-hint"
        }
    };
    let show = move |preview: bool| {
        if preview {
            shown.set(body.get_untracked());
        }
        previewing.set(preview);
    };
    view! {
        <div class="body-editor" class:show-preview=move || previewing.get()>
            <div class="body-toggle" role="group" aria-label=move || i.t("editor.body_view")>
                <button type="button" class="button" data-testid="body-write"
                    aria-pressed=move || (!previewing.get()).to_string() on:click=move |_| show(false)>
                    {move || i.t("editor.write")}
                </button>
                <button type="button" class="button" data-testid="body-preview"
                    aria-pressed=move || previewing.get().to_string() on:click=move |_| show(true)>
                    {move || i.t("editor.preview")}
                </button>
            </div>
            <div class="body-panes">
                <div class="field write-pane" class:has-error=invalid>
                    <label for="i-body">{move || i.t("editor.field_body")}</label>
                    <textarea id="i-body" name="body" rows="16" data-testid="editor-body"
                        aria-invalid=move || invalid().to_string() aria-describedby=described
                        prop:value=move || body.get()
                        on:input=move |ev| {
                            let text = event_target_value(&ev);
                            draft.update(|d| d.body = text);
                        }></textarea>
                    <p class="hint" id="i-body-hint">{move || i.t("editor.body_hint")}</p>
                    <FieldErrorText errors field="body" id="i-body-error".to_string()/>
                </div>
                <section class="preview-pane" data-testid="body-preview-pane" aria-labelledby="preview-heading">
                    <h2 id="preview-heading" class="pane-title">{move || i.t("editor.preview")}</h2>
                    {move || {
                        let doc = fieldbook_markdown::parse(&shown.get());
                        view! { <Markdown doc image_url/> }
                    }}
                </section>
            </div>
        </div>
    }
}

/// The files of the item: picked here, checked, kept on the device as blobs to send, and
/// listed with a remove button each. An image also goes into the text, at its end.
#[component]
fn AttachmentsEditor(
    draft: RwSignal<ItemDraft>,
    errors: RwSignal<ValidationErrors>,
) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let notes = RwSignal::new(Vec::<String>::new());
    let busy = RwSignal::new(false);
    // The server may state its own limit; until it has, the domain's fallback holds.
    // The server may state its own limit; until it has, the domain's fallback holds.
    let limit = attachment_limit();
    let pick = move |ev: web_sys::Event| {
        let files = picked_files(&ev);
        if files.is_empty() {
            return;
        }
        busy.set(true);
        notes.set(Vec::new());
        spawn_local(async move {
            let limit = limit.get_untracked();
            let mut refused = Vec::new();
            for file in files {
                if let Err(note) = attach(state, i, draft, &file, limit).await {
                    refused.push(note);
                }
            }
            notes.try_set(refused);
            busy.try_set(false);
        });
    };
    let attachments = move || draft.with(|d| d.attachments.clone());
    let invalid = move || errors.with(|e| e.get("attachments").is_some());
    view! {
        <section class="attachments-editor" aria-labelledby="attachments-heading">
            <h2 id="attachments-heading">{move || i.t("training.attachments")}</h2>
            <div class="field" class:has-error=invalid>
                <label for="i-files">{move || i.t("editor.attach")}</label>
                <input type="file" id="i-files" accept=ACCEPT multiple data-testid="attach-files"
                    aria-describedby="i-files-hint" aria-invalid=move || invalid().to_string()
                    on:change=pick/>
                <p class="hint" id="i-files-hint">{move || fill(i.t("editor.attach_hint"), format_size(limit.get()))}</p>
                <FieldErrorText errors field="attachments" id="i-attachments-error".to_string()/>
            </div>
            <Show when=move || busy.get()>
                <p class="hint" role="status">{move || i.t("editor.attaching")}</p>
            </Show>
            <Show when=move || notes.with(|n| !n.is_empty())>
                <ul class="file-notes banner error" role="alert" data-testid="file-refused">
                    {move || notes.get().into_iter().map(|note| view! { <li>{note}</li> }).collect_view()}
                </ul>
            </Show>
            <Show when=move || draft.with(|d| !d.attachments.is_empty())>
                <ul class="list attachment-list" data-testid="attachment-list">
                    <For each=attachments key=|a| a.sha256.clone() let:attachment>
                        <AttachmentRow attachment draft/>
                    </For>
                </ul>
            </Show>
        </section>
    }
}

#[component]
fn AttachmentRow(attachment: Attachment, draft: RwSignal<ItemDraft>) -> impl IntoView {
    let i = use_i18n();
    let sha = attachment.sha256.clone();
    let kind_key = if attachment.is_image() {
        "editor.image"
    } else {
        "editor.pdf"
    };
    let remove = move |_| {
        let sha = sha.clone();
        draft.update(|d| {
            d.attachments.retain(|a| a.sha256 != sha);
            d.body = domain::remove_image_refs(&d.body, &sha);
        });
        focus_when_drawn("#i-files");
    };
    view! {
        <li class="attachment-row" data-testid="attachment-row">
            <span class="row-main">
                <span class="row-title">{attachment.name.clone()}</span>
                <span class="muted">{move || format!("{} · {}", i.t(kind_key), format_size(attachment.size))}</span>
            </span>
            <button type="button" class="button" data-testid="attachment-remove" on:click=remove>
                {move || i.t("editor.remove")}
                <span class="visually-hidden">" "{attachment.name.clone()}</span>
            </button>
        </li>
    }
}

/// Checks one picked file, keeps its bytes on the device (to be sent) and adds it to the
/// draft; the refusal, in the person's language and naming the file, when it is not added.
async fn attach(
    state: AppState,
    i: I18n,
    draft: RwSignal<ItemDraft>,
    file: &web_sys::File,
    limit: u64,
) -> Result<(), String> {
    let attached = draft.with_untracked(|d| d.attachments.clone());
    let attachment = keep_file(state, i, &attached, file, limit).await?;
    let sha = attachment.sha256.clone();
    let name = attachment.name.clone();
    draft.try_update(|d| {
        // The same bytes picked twice in one go are added once.
        if d.attachments.iter().any(|a| a.sha256 == sha) {
            return;
        }
        if attachment.is_image() {
            d.body = domain::append_block(&d.body, &domain::image_markdown(&name, &sha));
        }
        d.attachments.push(attachment);
    });
    Ok(())
}

/// Checks one picked file against those `attached` already and the size `limit`, and keeps
/// its bytes on the device, to be sent by the next sync: the attachment to add, or the
/// refusal in the person's language, naming the file. (The visit form's photos too.)
pub async fn keep_file(
    state: AppState,
    i: I18n,
    attached: &[Attachment],
    file: &web_sys::File,
    limit: u64,
) -> Result<Attachment, String> {
    let name = domain::attachment_name(&file.name());
    let mime = file.type_();
    let size = file.size() as u64;
    let refuse = |refusal: FileRefusal| {
        let text = fill(i.now(refusal.key()), &name);
        match refusal {
            FileRefusal::TooLarge => fill(&text, format_size(limit)),
            FileRefusal::TooMany => fill(&text, domain::training::limits::ATTACHMENTS),
            _ => text,
        }
    };
    domain::accept_file(attached, &mime, size, limit).map_err(refuse)?;
    let sha = platform::sha256_of(file)
        .await
        .ok_or_else(|| fill(i.now("editor.file_unreadable"), &name))?;
    domain::accept_digest(attached, &sha).map_err(refuse)?;
    let not_kept = |key: &'static str| {
        format!(
            "{} {}",
            fill(i.now("editor.file_not_kept"), &name),
            i.now(key)
        )
    };
    let store = state.store().map_err(|err| not_kept(err.key()))?;
    store
        .put_blob(&sha, &mime, file, true)
        .await
        .map_err(|err| not_kept(err.key()))?;
    Ok(Attachment {
        sha256: sha,
        name,
        mime,
        size,
    })
}

/// Changes question `n` of the draft's quiz, if it has one.
fn edit_question(draft: RwSignal<ItemDraft>, n: usize, change: impl FnOnce(&mut Question)) {
    draft.update(|d| {
        if let Some(question) = d.quiz.as_mut().and_then(|q| q.questions.get_mut(n)) {
            change(question);
        }
    });
}

/// The two options of a true/false question in the author's language.
fn true_false(i: I18n) -> [&'static str; 2] {
    [i.now("editor.true"), i.now("editor.false")]
}

/// The quiz: a pass mark and the questions (shown for a quiz, and for any other kind once
/// "Add a quiz" is pressed).
#[component]
fn QuizEditor(
    draft: RwSignal<ItemDraft>,
    pass_mark: RwSignal<String>,
    errors: RwSignal<ValidationErrors>,
) -> impl IntoView {
    let i = use_i18n();
    let has_quiz = Memo::new(move |_| draft.with(|d| d.quiz.is_some()));
    let is_quiz_kind = Memo::new(move |_| draft.with(|d| d.kind == ItemKind::Quiz));
    let count =
        Memo::new(move |_| draft.with(|d| d.quiz.as_ref().map_or(0, |q| q.questions.len())));
    let mark_invalid = move || errors.with(|e| e.get("pass_mark").is_some());
    let add_question = move |_| {
        let mut added = None;
        draft.update(|d| {
            if let Some(quiz) = &mut d.quiz {
                if quiz.questions.len() < domain::training::limits::QUESTIONS {
                    quiz.questions
                        .push(Question::blank(QuestionKind::Single, true_false(i)));
                    added = Some(quiz.questions.len() - 1);
                }
            }
        });
        if let Some(n) = added {
            focus_when_drawn(format!("#q{n}-prompt"));
        }
    };
    view! {
        <section class="quiz-editor" aria-labelledby="quiz-editor-heading" data-testid="quiz-editor">
            <h2 id="quiz-editor-heading">{move || i.t("training.quiz")}</h2>
            <FieldErrorText errors field="quiz" id="i-quiz-error".to_string()/>
            <Show when=move || has_quiz.get()
                fallback=move || view! {
                    <button type="button" class="button" data-testid="add-quiz" on:click=move |_| {
                        draft.update(|d| d.quiz = Some(Quiz::blank()));
                        pass_mark.set("60".into());
                        focus_when_drawn("#i-pass_mark");
                    }>{move || i.t("editor.add_quiz")}</button>
                }>
                <div class="field pass-mark" class:has-error=mark_invalid>
                    <label for="i-pass_mark">{move || i.t("editor.pass_mark")}</label>
                    <input id="i-pass_mark" type="text" inputmode="numeric" data-testid="pass-mark"
                        aria-invalid=move || mark_invalid().to_string()
                        aria-describedby=move || mark_invalid().then_some("i-pass_mark-error")
                        prop:value=move || pass_mark.get()
                        on:input=move |ev| pass_mark.set(event_target_value(&ev))/>
                    <FieldErrorText errors field="pass_mark" id="i-pass_mark-error".to_string()/>
                </div>
                <For each=move || 0..count.get() key=|n| *n let:n>
                    <QuestionEditor n count draft errors/>
                </For>
                <div class="actions">
                    <button type="button" class="button" data-testid="question-add" on:click=add_question
                        disabled=move || { count.get() >= domain::training::limits::QUESTIONS }>
                        {move || i.t("editor.add_question")}
                    </button>
                    <Show when=move || !is_quiz_kind.get()>
                        <button type="button" class="button danger" data-testid="remove-quiz" on:click=move |_| {
                            draft.update(|d| d.quiz = None);
                            focus_when_drawn("[data-testid=add-quiz]");
                        }>{move || i.t("editor.remove_quiz")}</button>
                    </Show>
                </div>
            </Show>
        </section>
    }
}

/// One question: how it is answered, the prompt, the options with the right ones marked,
/// the explanation, and buttons to move or remove it. Rows are keyed by position, and every
/// control reads the draft at its position, so moving a question moves its text.
#[component]
fn QuestionEditor(
    n: usize,
    count: Memo<usize>,
    draft: RwSignal<ItemDraft>,
    errors: RwSignal<ValidationErrors>,
) -> impl IntoView {
    let i = use_i18n();
    let question = Memo::new(move |_| {
        draft.with(|d| d.quiz.as_ref().and_then(|q| q.questions.get(n).cloned()))
    });
    let kind =
        Memo::new(move |_| question.with(|q| q.as_ref().map(|q| q.kind).unwrap_or_default()));
    let text = move |get: fn(&Question) -> &String| {
        move || question.with(|q| q.as_ref().map(|q| get(q).clone()).unwrap_or_default())
    };
    let incomplete = move || {
        errors.with(|e| e.get("quiz").is_some())
            && question.with(|q| q.as_ref().is_some_and(|q| !q.is_complete()))
    };
    let move_to = move |up: bool| {
        let mut moved = None;
        draft.update(|d| {
            if let Some(quiz) = &mut d.quiz {
                moved = quiz.move_question(n, up);
            }
        });
        if let Some(to) = moved {
            let last = count.get_untracked().saturating_sub(1);
            let target = if up && to > 0 {
                format!("#q{to}-up")
            } else if !up && to < last {
                format!("#q{to}-down")
            } else {
                format!("#q{to}-prompt")
            };
            focus_when_drawn(target);
        }
    };
    let remove = move |_| {
        draft.update(|d| {
            if let Some(quiz) = &mut d.quiz {
                if quiz.questions.len() > 1 && n < quiz.questions.len() {
                    quiz.questions.remove(n);
                }
            }
        });
        focus_when_drawn("[data-testid=question-add]");
    };
    let prompt_id = format!("q{n}-prompt");
    let kind_id = format!("q{n}-kind");
    let explanation_id = format!("q{n}-explanation");
    view! {
        <fieldset class="question-editor" data-testid="question">
            <legend>{move || fill(i.t("editor.question_n"), n + 1)}</legend>
            <div class="field-row">
                <div class="field">
                    <label for=kind_id.clone()>{move || i.t("editor.question_kind")}</label>
                    <select id=kind_id.clone() data-testid="question-kind"
                        prop:value=move || kind.get().as_str() on:change=move |ev| {
                        if let Ok(kind) = event_target_value(&ev).parse::<QuestionKind>() {
                            let labels = true_false(i);
                            edit_question(draft, n, |q| q.set_kind(kind, labels));
                        }
                    }>
                        {QuestionKind::ALL.iter().map(|k| {
                            let k = *k;
                            view! {
                                <option value=k.as_str() selected=move || kind.get() == k>{move || i.t(k.key())}</option>
                            }
                        }).collect_view()}
                    </select>
                </div>
            </div>
            <div class="field">
                <label for=prompt_id.clone()>{move || i.t("editor.prompt")}</label>
                <textarea id=prompt_id.clone() rows="2" data-testid="question-prompt"
                    aria-invalid=move || incomplete().to_string()
                    prop:value=text(|q| &q.prompt)
                    on:input=move |ev| {
                        let value = event_target_value(&ev);
                        edit_question(draft, n, |q| q.prompt = value);
                    }></textarea>
            </div>
            <fieldset class="options">
                <legend>{move || i.t(if kind.get() == QuestionKind::Multiple { "editor.options_multiple" } else { "editor.options_single" })}</legend>
                {move || if kind.get() == QuestionKind::TrueFalse {
                    (0..2usize).map(|o| view! { <TrueFalseRow n o question draft/> }).collect_view().into_any()
                } else {
                    let multiple = kind.get_untracked() == QuestionKind::Multiple;
                    let options = Memo::new(move |_| question.with(|q| q.as_ref().map_or(0, |q| q.options.len())));
                    view! {
                        <For each=move || 0..options.get() key=|o| *o let:o>
                            <OptionRow n o multiple options question draft/>
                        </For>
                        <button type="button" class="button" data-testid="option-add"
                            disabled=move || { options.get() >= domain::training::limits::OPTIONS }
                            on:click=move |_| {
                                let mut added = None;
                                edit_question(draft, n, |q| {
                                    if q.add_option() {
                                        added = Some(q.options.len() - 1);
                                    }
                                });
                                if let Some(o) = added {
                                    focus_when_drawn(format!("#q{n}-o{o}"));
                                }
                            }>
                            {move || i.t("editor.add_option")}
                        </button>
                    }.into_any()
                }}
            </fieldset>
            <div class="field">
                <label for=explanation_id.clone()>{move || i.t("editor.explanation")}</label>
                <textarea id=explanation_id.clone() rows="2" data-testid="question-explanation"
                    prop:value=text(|q| &q.explanation)
                    on:input=move |ev| {
                        let value = event_target_value(&ev);
                        edit_question(draft, n, |q| q.explanation = value);
                    }></textarea>
            </div>
            <Show when=incomplete>
                <p class="field-error" data-testid="question-incomplete">{move || i.t("editor.question_incomplete")}</p>
            </Show>
            <div class="actions">
                <button type="button" class="button" id=format!("q{n}-up") data-testid="question-up"
                    disabled=move || n == 0 on:click=move |_| move_to(true)>
                    {move || i.t("editor.move_up")}
                </button>
                <button type="button" class="button" id=format!("q{n}-down") data-testid="question-down"
                    disabled=move || { n + 1 >= count.get() } on:click=move |_| move_to(false)>
                    {move || i.t("editor.move_down")}
                </button>
                <button type="button" class="button danger" data-testid="question-remove"
                    disabled=move || count.get() <= 1 on:click=remove>
                    {move || i.t("editor.remove_question")}
                </button>
            </div>
        </fieldset>
    }
}

/// An option of a single or multiple choice question: whether it is right, its text, and
/// a remove button (a question keeps two options).
#[component]
fn OptionRow(
    n: usize,
    o: usize,
    multiple: bool,
    options: Memo<usize>,
    question: Memo<Option<Question>>,
    draft: RwSignal<ItemDraft>,
) -> impl IntoView {
    let i = use_i18n();
    let text_id = format!("q{n}-o{o}");
    let right_id = format!("q{n}-o{o}-right");
    let is_right = move || {
        question.with(|q| {
            q.as_ref()
                .is_some_and(|q| u8::try_from(o).is_ok_and(|o| q.correct.contains(&o)))
        })
    };
    view! {
        <div class="option-row" data-testid="option">
            <label class="check option-right">
                <input type=if multiple { "checkbox" } else { "radio" } id=right_id
                    name=format!("q{n}-right") data-testid="option-right"
                    prop:checked=is_right
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        edit_question(draft, n, |q| q.mark(o, on));
                    }/>
                {move || i.t("editor.right")}
                <span class="visually-hidden">" "{move || fill(i.t("editor.option_n"), o + 1)}</span>
            </label>
            <div class="field option-text">
                <label for=text_id.clone()>{move || fill(i.t("editor.option_n"), o + 1)}</label>
                <input id=text_id.clone() type="text" data-testid="option-text"
                    prop:value=move || question.with(|q| q.as_ref().and_then(|q| q.options.get(o).cloned()).unwrap_or_default())
                    on:input=move |ev| {
                        let value = event_target_value(&ev);
                        edit_question(draft, n, |q| {
                            if let Some(option) = q.options.get_mut(o) {
                                *option = value;
                            }
                        });
                    }/>
            </div>
            <button type="button" class="button" data-testid="option-remove"
                disabled=move || options.get() <= 2
                on:click=move |_| {
                    edit_question(draft, n, |q| q.remove_option(o));
                    focus_when_drawn(format!("#q{n}-o0"));
                }>
                {move || i.t("editor.remove")}
                <span class="visually-hidden">" "{move || fill(i.t("editor.option_n"), o + 1)}</span>
            </button>
        </div>
    }
}

/// One of the two fixed options of a true/false question: only which is right is chosen.
#[component]
fn TrueFalseRow(
    n: usize,
    o: usize,
    question: Memo<Option<Question>>,
    draft: RwSignal<ItemDraft>,
) -> impl IntoView {
    let id = format!("q{n}-o{o}-right");
    view! {
        <div class="option-row tf" data-testid="option">
            <label class="check option-right">
                <input type="radio" id=id name=format!("q{n}-right") data-testid="option-right"
                    prop:checked=move || question.with(|q| q.as_ref().is_some_and(|q| u8::try_from(o).is_ok_and(|o| q.correct == [o])))
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        edit_question(draft, n, |q| q.mark(o, on));
                    }/>
                {move || question.with(|q| q.as_ref().and_then(|q| q.options.get(o).cloned()).unwrap_or_default())}
            </label>
        </div>
    }
}

/// Who must read it: the whole team or chosen reps, and by when.
#[component]
fn AssignmentEditor(
    draft: RwSignal<ItemDraft>,
    errors: RwSignal<ValidationErrors>,
) -> impl IntoView {
    let i = use_i18n();
    let reps = team_reps();
    view! {
        <fieldset class="assignment" data-testid="assignment">
            <legend>{move || i.t("editor.assign")}</legend>
            <label class="check">
                <input type="checkbox" id="i-assign-team" data-testid="assign-team"
                    prop:checked=move || draft.with(|d| d.assign_team)
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        draft.update(|d| d.assign_team = on);
                    }/>
                {move || i.t("editor.assign_team")}
            </label>
            <Show when=move || !draft.with(|d| d.assign_team)>
                <p class="hint">{move || i.t("editor.assign_people")}</p>
                <Show when=move || reps.with(|r| !r.is_empty())
                    fallback=move || view! { <p class="hint" data-testid="no-team">{move || i.t("training.no_team")}</p> }>
                    <RepChecks reps testid="assign-person"
                        chosen=Signal::derive(move || draft.with(|d| d.assign_people.clone()))
                        on_toggle=Callback::new(move |(id, on): (domain::Id, bool)| {
                            draft.update(|d| toggle(&mut d.assign_people, id, on));
                        })/>
                </Show>
            </Show>
            <TextField draft get=|d| &d.due_on set=|d| &mut d.due_on label="editor.due_on"
                field="assigned" errors prefix="i" kind="date" testid="assign-due"/>
        </fieldset>
    }
}

/// "…" → "Move to trash", asked first: for published material it withdraws it from every
/// reader.
#[component]
fn TrashItem(item: TrainingItem, banner: RwSignal<Option<&'static str>>) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let navigate = use_navigate();
    let id = item.id;
    let text_key = if item.published {
        "editor.trash_published"
    } else {
        "editor.trash_draft"
    };
    let trash = Callback::new(move |()| {
        let navigate = navigate.clone();
        spawn_local(async move {
            // The item as the device holds it now, so nothing older is written back.
            let current = match state.store() {
                Ok(store) => store.record::<TrainingItem>(id).await.ok().flatten(),
                Err(_) => None,
            };
            let result = match current {
                Some(item) => {
                    state
                        .trash(item, Change::TrainingItem, i.now("editor.trashed"))
                        .await
                }
                None => Ok(()),
            };
            match result {
                Ok(()) => navigate("/training", Default::default()),
                Err(err) => banner.set(Some(err.key())),
            }
        });
    });
    view! { <TrashMenu on_confirm=trash question=text_key testid="trash-item"/> }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use domain::Sha256;

    /// The Markdown the editor inserts for an image reads back as that attachment with the
    /// file name as its alt text, whatever characters the name holds.
    #[test]
    fn inserted_images_read_back_as_the_attachment() {
        let sha = Sha256::from_bytes(&[0x5a; 32]);
        for name in ["展台 [1].png", "a*b_c`d!.jpg", "x\\y<z>&.gif", "plain.webp"] {
            let body = domain::append_block("开场", &domain::image_markdown(name, &sha));
            let doc = fieldbook_markdown::parse(&body);
            assert_eq!(doc.attachments(), vec![sha.as_str().to_string()], "{name}");
            let image = find_image(&doc.blocks).unwrap();
            assert_eq!(image.alt, name);
        }
    }

    fn find_image(nodes: &[fieldbook_markdown::Node]) -> Option<fieldbook_markdown::Image> {
        nodes.iter().find_map(|node| match node {
            fieldbook_markdown::Node::Image(image) => Some(image.clone()),
            fieldbook_markdown::Node::Element(el) => find_image(&el.children),
            fieldbook_markdown::Node::Text(_) => None,
        })
    }
}
