#pragma once
// The sections of a report, each appended to `out` when the content holds its data.
// importance_sections.cpp: the layer map, importance per metric, metric agreement, task answers.
// result_sections.cpp: pruning curves, cost, recovery, evaluations, generations, export, provenance.

#include <set>
#include <string>
#include <vector>

#include "report/report_document.h"

namespace layerlab::ui::report {

void layerMapSection(const ReportContent& c, std::vector<ReportSection>& out);
void importanceSection(const ReportContent& c, std::vector<ReportSection>& out);
void agreementSection(const ReportContent& c, std::vector<ReportSection>& out);
void taskSection(const ReportContent& c, std::vector<ReportSection>& out);

void curveSections(const ReportContent& c, std::vector<ReportSection>& out); // curves, equal savings
void costSection(const ReportContent& c, std::vector<ReportSection>& out);
void recoverySection(const ReportContent& c, std::vector<ReportSection>& out);
void evaluationSection(const ReportContent& c, std::vector<ReportSection>& out);
void generationSection(const ReportContent& c, std::vector<ReportSection>& out);
void exportSection(const ReportContent& c, std::vector<ReportSection>& out);
void provenanceSection(const ReportContent& c, std::vector<ReportSection>& out);

ReportBlock paragraph(const QString& html);
// The command lines of the inputs of the given kinds, as a code block (empty when none).
ReportBlock commandsOf(const ReportContent& c, const std::set<std::string>& kinds);

} // namespace layerlab::ui::report
