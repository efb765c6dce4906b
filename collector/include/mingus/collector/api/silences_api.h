#pragma once

#include "mingus/collector/notify/dispatcher.h"
#include "mingus/common/clock.h"
#include "mingus/http/message.h"

namespace mingus::collector::api {

// /api/monitoring/silences in Alertmanager's v2 silence shapes:
//   GET                       every silence, with status.state active, pending or expired
//   POST {matchers, startsAt, endsAt, createdBy, comment}   -> {"silenceID": "..."}
//   DELETE /api/monitoring/silences/ID                      expires it
void RegisterSilencesApi(http::Router& router, notify::Dispatcher& dispatcher, const Clock& clock);

}  // namespace mingus::collector::api
