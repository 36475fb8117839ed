#include "accounts/accounts_service.h"

#include "common/errors.h"
#include "common/ids.h"
#include "common/validate.h"
#include "leads/phone.h"

namespace lms::accounts {

namespace {

void require_admin(const Principal& caller) {
  if (caller.role != Role::admin) throw ApiError::forbidden("only admins may do this");
}

void require_admin_or_manager(const Principal& caller) {
  if (caller.role == Role::agent) throw ApiError::forbidden("agents may not list users");
}

Role checked_role(const std::string& text) {
  auto role = parse_role(text);
  if (!role) throw ApiError::validation("role", "must be one of admin, manager, agent");
  return *role;
}

}  // namespace

AccountsService::AccountsService(store::AccountStore& store, AccountDirectory& directory, auth::AuthService& auth,
                                 realtime::EventBus* events)
    : store_(store), directory_(directory), auth_(auth), events_(events) {}

store::Task<std::vector<User>> AccountsService::list_users(const Principal& caller) {
  require_admin_or_manager(caller);
  auto users = co_await store_.list_users(caller.organization_id);
  co_return users;
}

store::Task<User> AccountsService::get_user(const Principal& caller, std::string user_id) {
  // Everyone may see themselves; seeing others is for admins and managers.
  if (user_id != caller.user_id) require_admin_or_manager(caller);
  auto user = co_await store_.find_user(caller.organization_id, user_id);
  if (!user) throw ApiError::not_found("user not found");
  co_return *user;
}

store::Task<User> AccountsService::create_user(const Principal& caller, NewUser input) {
  require_admin(caller);
  auto user = co_await create_user_in(caller.organization_id, std::move(input));
  co_return user;
}

store::Task<User> AccountsService::create_user_in(const std::string& org_id, NewUser input) {
  User user;
  validate::all([&] { user.name = validate::name(input.name, "name"); },
          [&] { user.email = validate::email(input.email); },
          [&] { validate::password(input.password); },
          [&] { user.role = checked_role(input.role); });
  Millis now = now_ms();
  user.id = new_id_at(now);
  user.organization_id = org_id;
  user.created_at = now;
  std::string hash = co_await auth_.hash_password(std::move(input.password));
  UserRecord record{user, std::move(hash)};
  bool inserted = co_await store_.insert_user(std::move(record));
  if (!inserted)
    throw ApiError(409, "email_taken", "a user with this email already exists");
  directory_.put(user);
  co_return user;
}

store::Task<User> AccountsService::update_user(const Principal& caller, std::string user_id, UserChanges changes) {
  require_admin(caller);
  UserPatch patch;
  validate::all([&] { if (changes.name) patch.name = validate::name(*changes.name, "name"); },
          [&] { if (changes.role) patch.role = checked_role(*changes.role); },
          [&] { if (changes.password) validate::password(*changes.password); });
  patch.active = changes.active;
  if (user_id == caller.user_id && (patch.active == false || (patch.role && *patch.role != Role::admin)))
    throw ApiError::validation(patch.active == false ? "active" : "role",
                               "admins cannot deactivate or demote themselves");
  if (changes.password) patch.password_hash = co_await auth_.hash_password(std::move(*changes.password));
  auto updated = co_await store_.update_user(caller.organization_id, user_id, std::move(patch));
  if (!updated) throw ApiError::not_found("user not found");
  directory_.put(*updated);
  if (events_) {
    // Other instances drop the user from their caches and sockets take the new role at once.
    realtime::Event changed;
    changed.kind = realtime::EventKind::user_changed;
    changed.organization_id = updated->organization_id;
    changed.user_id = updated->id;
    changed.payload = std::string(role_name(updated->role));
    events_->publish(std::move(changed));
  }
  if (events_ && changes.active == false) {
    realtime::Event event;
    event.kind = realtime::EventKind::user_deactivated;
    event.organization_id = updated->organization_id;
    event.user_id = updated->id;
    events_->publish(std::move(event));
  }
  co_return *updated;
}

store::Task<Organization> AccountsService::get_organization(const Principal& caller) {
  auto org = co_await directory_.organization(caller.organization_id);
  if (!org) throw ApiError::not_found("organization not found");
  co_return *org;
}

store::Task<Organization> AccountsService::update_organization(const Principal& caller, OrganizationChanges changes) {
  require_admin(caller);
  OrganizationPatch patch;
  validate::all([&] { if (changes.name) patch.name = validate::name(*changes.name, "name"); },
          [&] {
            if (!changes.default_country) return;
            patch.default_country = validate::country(*changes.default_country);
            if (!leads::is_supported_region(*patch.default_country))
              throw ApiError::validation("defaultCountry", "not a country known to the phone number library");
          });
  auto updated = co_await store_.update_organization(caller.organization_id, std::move(patch));
  if (!updated) throw ApiError::not_found("organization not found");
  directory_.put(*updated);
  co_return *updated;
}

}  // namespace lms::accounts
