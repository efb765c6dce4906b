#include "mingus/agent/intake/line_processor.h"

#include "mingus/wire/statsd.h"

namespace mingus::agent::intake {

LineProcessor::LineProcessor(const MappingConfig& mapping, MetricStore& store, EventAggregates& aggregates,
                             IntakeStats& stats, EventSink* sink)
    : store_(store), stats_(stats), sink_(sink), statsd_(mapping, store, stats), events_(store, aggregates) {}

void LineProcessor::ProcessDatagram(std::string_view datagram, bool truncated) {
  // One clock reading and one update of the shared counters per datagram, not per line. The
  // counters move once the datagram's lines are applied, so a reader who sees them has the
  // datagram's effect on the metrics too.
  const int64_t now_ms = store_.NowMillis();
  LineCounts counts;
  // A trailing newline is normal; any other empty line is an error.
  if (!datagram.empty() && datagram.back() == '\n') datagram.remove_suffix(1);
  if (truncated) {
    // The last line was cut by the receive buffer: it cannot be trusted.
    const auto last = datagram.rfind('\n');
    datagram = last == std::string_view::npos ? std::string_view() : datagram.substr(0, last);
    stats_.CountError("truncated_datagram");
    if (datagram.empty()) {
      stats_.CountDatagram();
      return;
    }
  }
  while (true) {
    const auto end = datagram.find('\n');
    Dispatch(datagram.substr(0, end), now_ms, counts);
    if (end == std::string_view::npos) break;
    datagram.remove_prefix(end + 1);
  }
  stats_.CountLines(counts.statsd, counts.json);
  stats_.CountDatagram();
}

void LineProcessor::ProcessLine(std::string_view line) {
  LineCounts counts;
  Dispatch(line, store_.NowMillis(), counts);
  stats_.CountLines(counts.statsd, counts.json);
}

void LineProcessor::Dispatch(std::string_view line, int64_t now_ms, LineCounts& counts) {
  if (!line.empty() && line.front() == '{') {
    ++counts.json;
    if (const auto error = json_.Parse(line, event_)) {
      stats_.CountError(wire::ReasonName(*error));
      return;
    }
    events_.Handle(event_, now_ms);
    if (sink_ != nullptr) sink_->Append(line, now_ms);
    return;
  }
  ++counts.statsd;
  wire::StatsdLine parsed;
  if (const auto error = wire::ParseStatsdLine(line, parsed)) {
    stats_.CountError(wire::ReasonName(*error));
    return;
  }
  statsd_.Handle(parsed, now_ms);
}

}  // namespace mingus::agent::intake
