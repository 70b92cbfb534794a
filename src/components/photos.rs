//! Visit photos: picked (or taken with the camera) in the visit form, kept on the device as
//! attachments and sent by the sync in their own requests; shown on the lead's timeline from
//! the device, fetched from the server first when another device took them.

use std::collections::HashMap;

use domain::{Attachment, Sha256, ValidationErrors, VisitDraft};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::files::{attachment_limit, picked_files};
use crate::components::form::FieldErrorText;
use crate::i18n::{fill, use_i18n};
use crate::platform;
use crate::routes::training_editor::keep_file;
use crate::state::use_app;
use crate::sync::api;

/// Object URLs of `photos` this device holds (fetching the ones it lacks when it can), made
/// once per page for each blob.
pub fn photo_urls(photos: Signal<Vec<Attachment>>) -> RwSignal<HashMap<Sha256, String>> {
    let state = use_app();
    let urls = RwSignal::new(HashMap::new());
    Effect::new(move |_| {
        let wanted = photos.get();
        spawn_local(async move {
            let Ok(store) = state.store() else {
                return;
            };
            for photo in wanted {
                if urls.with_untracked(|u: &HashMap<Sha256, String>| u.contains_key(&photo.sha256))
                {
                    continue;
                }
                let mut blob = store.blob(&photo.sha256).await.ok().flatten();
                if blob.is_none() {
                    // Taken on another device: the server has it once that device synced.
                    if let Ok(bytes) = api::download(photo.sha256.as_str()).await {
                        if store
                            .put_blob(&photo.sha256, &photo.mime, &bytes, false)
                            .await
                            .is_ok()
                        {
                            blob = Some(bytes);
                        }
                    }
                }
                if let Some(url) = blob.as_ref().and_then(platform::object_url) {
                    urls.try_update(|u| u.insert(photo.sha256.clone(), url));
                }
            }
        });
    });
    urls
}

/// Thumbnails of a visit's photos, each opening the full image.
#[component]
pub fn PhotoStrip(photos: Vec<Attachment>) -> impl IntoView {
    let i = use_i18n();
    let shown = photos.clone();
    let urls = photo_urls(Signal::derive(move || photos.clone()));
    view! {
        <ul class="photo-strip" data-testid="visit-photos">
            {shown.into_iter().map(|photo| {
                let sha = photo.sha256.clone();
                let name = photo.name.clone();
                view! {
                    <li>
                        {move || match urls.with(|u| u.get(&sha).cloned()) {
                            Some(url) => view! {
                                <a href=url.clone() target="_blank" rel="noopener" data-testid="visit-photo">
                                    <img src=url.clone() alt=name.clone()/>
                                </a>
                            }.into_any(),
                            None => view! {
                                <span class="photo-missing">{name.clone()}" — "{move || i.t("training.not_downloaded")}</span>
                            }.into_any(),
                        }}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// The visit form's photos: "Add photos" (the camera on a phone), the thumbnails with
/// "remove", and why a file was not added.
#[component]
pub fn PhotosField(
    draft: RwSignal<VisitDraft>,
    errors: RwSignal<ValidationErrors>,
) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let notes = RwSignal::new(Vec::<String>::new());
    let busy = RwSignal::new(false);
    let limit = attachment_limit();
    let pick = move |ev: web_sys::Event| {
        let files = picked_files(&ev);
        if files.is_empty() {
            return;
        }
        busy.set(true);
        notes.set(Vec::new());
        spawn_local(async move {
            let mut refused = Vec::new();
            for file in files {
                let name = domain::attachment_name(&file.name());
                if !file.type_().starts_with("image/") {
                    refused.push(fill(i.now("visit.photo_not_image"), &name));
                    continue;
                }
                if draft.with_untracked(|d| d.photos.len()) >= domain::visit::MAX_PHOTOS {
                    refused.push(fill(
                        i.now("visit.photo_too_many"),
                        domain::visit::MAX_PHOTOS,
                    ));
                    break;
                }
                let attached = draft.with_untracked(|d| d.photos.clone());
                match keep_file(state, i, &attached, &file, limit.get_untracked()).await {
                    Ok(photo) => {
                        draft.try_update(|d| {
                            if !d.photos.iter().any(|p| p.sha256 == photo.sha256) {
                                d.photos.push(photo);
                            }
                        });
                    }
                    Err(note) => refused.push(note),
                }
            }
            notes.try_set(refused);
            busy.try_set(false);
        });
    };
    let photos = Signal::derive(move || draft.with(|d| d.photos.clone()));
    let urls = photo_urls(photos);
    view! {
        <fieldset class="photos" data-testid="photos">
            <legend>{move || i.t("visit.photos")}</legend>
            <label class="button file-button">
                {move || i.t("visit.add_photos")}
                <input type="file" accept="image/*" capture="environment" multiple
                    data-testid="add-photos" on:change=pick/>
            </label>
            <Show when=move || busy.get()>
                <p class="hint" role="status">{move || i.t("editor.attaching")}</p>
            </Show>
            <Show when=move || notes.with(|n| !n.is_empty())>
                <ul class="file-notes banner error" role="alert" data-testid="photo-refused">
                    {move || notes.get().into_iter().map(|note| view! { <li>{note}</li> }).collect_view()}
                </ul>
            </Show>
            <ul class="photo-strip">
                <For each=move || photos.get() key=|p| p.sha256.clone() let:photo>
                    {
                        let sha = photo.sha256.clone();
                        let remove_sha = photo.sha256.clone();
                        let name = photo.name.clone();
                        let label = name.clone();
                        view! {
                            <li data-testid="photo">
                                {move || urls.with(|u| u.get(&sha).cloned()).map(|url| view! { <img src=url alt=name.clone()/> })}
                                <button type="button" class="button small" data-testid="photo-remove"
                                    aria-label=move || fill(i.t("visit.remove_photo"), &label)
                                    on:click=move |_| draft.update(|d| d.photos.retain(|p| p.sha256 != remove_sha))>
                                    {move || i.t("visit.remove")}
                                </button>
                            </li>
                        }
                    }
                </For>
            </ul>
            <FieldErrorText errors field="photos" id="v-photos-error".to_string()/>
        </fieldset>
    }
}
