/**
 * The one message catalogue. English defines the keys; every other language
 * is typed `Record<MessageKey, string>`, so a missing translation fails
 * `tsc`, and test/i18n/i18n.test.ts also checks placeholders match per language.
 * Placeholders are `{name}` and are filled by `translate()`.
 */
const en = {
  // Success
  list_ok: "Customer communications retrieved successfully",
  create_ok: "Customer communication created successfully",
  get_ok: "Customer communication retrieved successfully",
  status_updated: "Customer communication status updated successfully",
  status_unchanged: "Status unchanged: the communication already has this, a later or a final status",
  events_ok: "Customer communication events retrieved successfully",
  shards_ok: "Shards retrieved successfully",
  tenant_ok: "Tenant placement retrieved successfully",
  move_started: "Tenant move started",
  archive_ok: "Archived communications retrieved successfully",
  // Client errors
  validation_failed: "Invalid request parameters",
  invalid_json: "The request body is not valid JSON",
  unauthorized: "Unauthorized",
  token_invalid: "Invalid or expired access token",
  forbidden: "Insufficient permissions",
  no_tenant: "Your account is not linked to a tenant",
  tenant_mismatch: "You cannot access another tenant's data",
  customer_mismatch: "Customers can only access their own communications",
  not_found: "Customer communication not found",
  tenant_not_found: "Tenant not found",
  archive_not_found: "No archived communications for that day",
  move_conflict: "The tenant is already on that shard or is being moved",
  route_not_found: "Route not found",
  method_not_allowed: "Method not allowed",
  idempotency_conflict: "This Idempotency-Key was already used with a different request",
  body_too_large: "The request body is too large",
  unsupported_media_type: "The request body must be sent as application/json",
  rate_limited: "Too many requests, please try again later",
  // Server errors
  provider_saved: "Provider connection saved successfully",
  providers_ok: "Provider connections retrieved successfully",
  provider_deleted: "Provider connection deleted successfully",
  provider_not_found: "Provider connection not found",
  provider_message_conflict: "A communication with this provider and provider_message_id already exists",
  webhook_accepted: "Webhook accepted",
  webhook_unauthorized: "Webhook signature verification failed",
  provider_secrets_not_configured: "Provider connections are not configured on this server",
  internal_error: "Internal server error",
  db_unavailable: "The service is temporarily unavailable, please try again later",
  auth_not_configured: "Authentication is not configured on this server",
  auth_keys_unavailable: "Token signing keys are temporarily unavailable, please try again later",
  // Field messages (the "errors" array of a 400)
  field_required: "{field} is required",
  field_invalid_type: "{field} has the wrong type",
  field_invalid_value: "{field} must be one of: {values}",
  field_invalid_format: "{field} is not a valid {format}",
  field_too_small: "{field} must be at least {min}",
  field_too_big: "{field} must be at most {max}",
  field_too_long: "{field} must be at most {max} characters",
  field_unknown: "{field} is not an accepted field",
  field_invalid: "{field} is invalid",
  field_tenant_required: "{field} is required for system administrators",
  field_cursor_with_page: "{field} cannot be combined with page",
  field_page_too_deep: "{field} reaches past the first {max} results; use cursor (next_cursor) to go further",
  field_in_future: "{field} must not be in the future",
  // Provider secrets: what a valid one looks like (issue 17)
  field_provider_auth_token:
    "{field} must be the Twilio account's Auth Token (Console, Account Info): 16 to 128 visible ASCII characters without spaces, usually 32 hexadecimal characters",
  field_provider_public_key:
    "{field} must be the SendGrid Event Webhook's verification key (Mail Settings, Event Webhook, Signature Verification): a base64 ECDSA P-256 public key",
  field_provider_secret:
    "{field} must be the endpoint's signing secret: whsec_ followed by the base64 of at least 16 random bytes (24 or more recommended)",
  // Events out (issue 18)
  subscription_created: "Subscription created successfully; store its secret now, it is not shown again",
  subscriptions_ok: "Subscriptions retrieved successfully",
  subscription_ok: "Subscription retrieved successfully",
  subscription_updated: "Subscription updated successfully",
  subscription_deleted: "Subscription deleted successfully",
  subscription_secret_rotated: "Subscription secret rotated; the previous secret keeps signing for 24 hours",
  deliveries_ok: "Deliveries retrieved successfully",
  replay_accepted: "Replay accepted: the events will be sent again",
  subscription_not_found: "Subscription not found",
  subscription_limit: "A tenant may have at most 20 subscriptions",
  subscription_not_active: "The subscription is not active; set it to active before replaying",
  subscriptions_not_configured: "Subscriptions are not configured on this server",
  field_url_invalid: "{field} is not a valid URL of at most 2048 characters",
  field_url_scheme: "{field} must be an https URL",
  field_url_credentials: "{field} must not contain a user name or password",
  field_url_private: "{field} must not point to a loopback, private, link-local or other non-public address",
  field_url_own_host: "{field} must not point to this service",
  field_replay_too_old: "{field} must be within the last {days} days",
  field_until_before_since: "{field} must be later than since",
  field_nothing_to_update: "{field} must contain at least one of: {values}",
  // Provider webhooks and unattributed messages (issue 16)
  unmatched_ok: "Unmatched provider events retrieved successfully",
  field_customer_reserved: "{field} cannot be the nil UUID: it marks inbound messages from unknown senders",
  // Public origin (issue 23)
  public_base_url_invalid: "This server's public URL is not configured correctly",
  // Live stream (issue 19)
  stream_ticket_ok: "Stream ticket issued",
  ticket_invalid: "The stream ticket is invalid, expired or already used",
  // Finding and exporting (issue 20)
  search_not_ready:
    "Search is not available for this tenant yet: its earlier messages are still being indexed. Please try again later",
  field_address_invalid:
    "{field} must be a phone number in international format, starting with + (for example +9647501234567), or an email address",
  field_query_quote: "{field} has a quotation mark that is not closed",
  field_query_star: "In {field}, * may only end a word or a quoted phrase, as in deliv*",
  field_query_prefix: "In {field}, a word ending in * needs at least {min} characters before the *",
  field_query_empty: "{field} must contain at least one word",
  // Privacy (issue 21): erasures, redaction, settings, the audit log
  erasure_requested: "Erasure requested",
  erasure_running: "An erasure of this customer is already running",
  erasure_ok: "Erasure retrieved successfully",
  erasures_ok: "Erasures retrieved successfully",
  erasure_not_found: "Erasure not found",
  communication_redacted: "Customer communication redacted successfully",
  communication_already_redacted: "Customer communication was already redacted",
  settings_ok: "Settings retrieved successfully",
  settings_updated: "Settings updated successfully",
  audit_ok: "Audit log retrieved successfully",
  field_phone_needs_plus: "{field} must start with + and the country code",
} as const;

export type MessageKey = keyof typeof en;
type Catalogue = Record<MessageKey, string>;

const ar: Catalogue = {
  list_ok: "تم جلب مراسلات العملاء بنجاح",
  create_ok: "تم إنشاء مراسلة العميل بنجاح",
  get_ok: "تم جلب مراسلة العميل بنجاح",
  status_updated: "تم تحديث حالة مراسلة العميل بنجاح",
  status_unchanged: "لم تتغير الحالة: المراسلة لديها هذه الحالة أو حالة أحدث أو نهائية",
  events_ok: "تم جلب أحداث مراسلة العميل بنجاح",
  shards_ok: "تم جلب الأجزاء بنجاح",
  tenant_ok: "تم جلب موقع المستأجر بنجاح",
  move_started: "بدأ نقل المستأجر",
  archive_ok: "تم جلب المراسلات المؤرشفة بنجاح",
  validation_failed: "معلمات الطلب غير صالحة",
  invalid_json: "نص الطلب ليس JSON صالحًا",
  unauthorized: "غير مصرح",
  token_invalid: "رمز الوصول غير صالح أو منتهي الصلاحية",
  forbidden: "صلاحيات غير كافية",
  no_tenant: "حسابك غير مرتبط بأي مستأجر",
  tenant_mismatch: "لا يمكنك الوصول إلى بيانات مستأجر آخر",
  customer_mismatch: "يمكن للعملاء الوصول إلى مراسلاتهم فقط",
  not_found: "لم يتم العثور على مراسلة العميل",
  tenant_not_found: "المستأجر غير موجود",
  archive_not_found: "لا توجد مراسلات مؤرشفة لذلك اليوم",
  move_conflict: "المستأجر موجود بالفعل في ذلك الجزء أو قيد النقل",
  route_not_found: "المسار غير موجود",
  method_not_allowed: "الطريقة غير مسموح بها",
  idempotency_conflict: "تم استخدام مفتاح Idempotency-Key هذا مسبقًا مع طلب مختلف",
  body_too_large: "نص الطلب كبير جدًا",
  unsupported_media_type: "يجب إرسال نص الطلب بصيغة application/json",
  rate_limited: "طلبات كثيرة جدًا، يرجى المحاولة لاحقًا",
  provider_saved: "تم حفظ اتصال المزوّد بنجاح",
  providers_ok: "تم جلب اتصالات المزوّدين بنجاح",
  provider_deleted: "تم حذف اتصال المزوّد بنجاح",
  provider_not_found: "اتصال المزوّد غير موجود",
  provider_message_conflict: "توجد مراسلة بهذا المزوّد وهذا المعرّف provider_message_id بالفعل",
  webhook_accepted: "تم قبول الإشعار",
  webhook_unauthorized: "فشل التحقق من توقيع الإشعار",
  provider_secrets_not_configured: "اتصالات المزوّدين غير مهيأة على هذا الخادم",
  internal_error: "خطأ داخلي في الخادم",
  db_unavailable: "الخدمة غير متاحة مؤقتًا، يرجى المحاولة لاحقًا",
  auth_not_configured: "لم يتم إعداد المصادقة على هذا الخادم",
  auth_keys_unavailable: "مفاتيح توقيع الرموز غير متاحة مؤقتًا، يرجى المحاولة لاحقًا",
  field_required: "الحقل {field} مطلوب",
  field_invalid_type: "الحقل {field} من نوع خاطئ",
  field_invalid_value: "يجب أن يكون الحقل {field} واحدًا من: {values}",
  field_invalid_format: "الحقل {field} ليس {format} صالحًا",
  field_too_small: "يجب ألا تقل قيمة الحقل {field} عن {min}",
  field_too_big: "يجب ألا تزيد قيمة الحقل {field} عن {max}",
  field_too_long: "يجب ألا يزيد طول الحقل {field} عن {max} حرفًا",
  field_unknown: "الحقل {field} غير مقبول",
  field_invalid: "الحقل {field} غير صالح",
  field_tenant_required: "الحقل {field} مطلوب لمسؤولي النظام",
  field_cursor_with_page: "لا يمكن استخدام الحقل {field} مع page",
  field_page_too_deep: "الحقل {field} يتجاوز أول {max} نتيجة؛ استخدم cursor (next_cursor) للمتابعة",
  field_in_future: "يجب ألا يكون الحقل {field} في المستقبل",
  // Provider secrets: what a valid one looks like (issue 17)
  field_provider_auth_token:
    "يجب أن يكون الحقل {field} رمز المصادقة Auth Token لحساب Twilio (Console، Account Info): من 16 إلى 128 حرف ASCII مرئيًا دون مسافات، وعادةً 32 حرفًا ست عشريًا",
  field_provider_public_key:
    "يجب أن يكون الحقل {field} مفتاح التحقق لـ Event Webhook في SendGrid (Mail Settings، Event Webhook، Signature Verification): مفتاح عام ECDSA P-256 بترميز base64",
  field_provider_secret:
    "يجب أن يكون الحقل {field} سر التوقيع لنقطة الاستقبال: whsec_ متبوعًا بترميز base64 لـ 16 بايتًا عشوائيًا على الأقل (يُنصح بـ 24 أو أكثر)",
  // Events out (issue 18)
  subscription_created: "تم إنشاء الاشتراك بنجاح؛ احفظ السر الآن، فلن يُعرض مرة أخرى",
  subscriptions_ok: "تم جلب الاشتراكات بنجاح",
  subscription_ok: "تم جلب الاشتراك بنجاح",
  subscription_updated: "تم تحديث الاشتراك بنجاح",
  subscription_deleted: "تم حذف الاشتراك بنجاح",
  subscription_secret_rotated: "تم تغيير سر الاشتراك؛ يبقى السر السابق صالحًا للتوقيع لمدة 24 ساعة",
  deliveries_ok: "تم جلب عمليات التسليم بنجاح",
  replay_accepted: "تم قبول إعادة الإرسال: سيتم إرسال الأحداث مرة أخرى",
  subscription_not_found: "الاشتراك غير موجود",
  subscription_limit: "لا يمكن أن يكون للمستأجر أكثر من 20 اشتراكًا",
  subscription_not_active: "الاشتراك غير نشط؛ فعّله قبل إعادة الإرسال",
  subscriptions_not_configured: "الاشتراكات غير مهيأة على هذا الخادم",
  field_url_invalid: "الحقل {field} ليس عنوان URL صالحًا لا يتجاوز 2048 حرفًا",
  field_url_scheme: "يجب أن يكون الحقل {field} عنوان URL يبدأ بـ https",
  field_url_credentials: "يجب ألا يحتوي الحقل {field} على اسم مستخدم أو كلمة مرور",
  field_url_private: "يجب ألا يشير الحقل {field} إلى عنوان محلي أو خاص أو غير عام",
  field_url_own_host: "يجب ألا يشير الحقل {field} إلى هذه الخدمة نفسها",
  field_replay_too_old: "يجب أن يكون الحقل {field} ضمن آخر {days} أيام",
  field_until_before_since: "يجب أن يكون الحقل {field} بعد since",
  field_nothing_to_update: "يجب أن يحتوي الحقل {field} على واحد على الأقل من: {values}",
  // Provider webhooks and unattributed messages (issue 16)
  unmatched_ok: "تم جلب أحداث المزوّدين غير المطابقة بنجاح",
  field_customer_reserved:
    "لا يمكن أن يكون الحقل {field} هو المعرّف الصفري (nil UUID): فهو يميّز الرسائل الواردة من مرسلين مجهولين",
  // Public origin (issue 23)
  public_base_url_invalid: "عنوان URL العام لهذا الخادم غير مهيأ بشكل صحيح",
  // Live stream (issue 19)
  stream_ticket_ok: "تم إصدار تذكرة البث المباشر",
  ticket_invalid: "تذكرة البث غير صالحة أو منتهية الصلاحية أو مستخدمة من قبل",
  // Finding and exporting (issue 20)
  search_not_ready: "البحث غير متاح لهذا المستأجر بعد: ما زالت رسائله السابقة قيد الفهرسة. يرجى المحاولة لاحقًا",
  field_address_invalid:
    "يجب أن يكون الحقل {field} رقم هاتف بالصيغة الدولية يبدأ بـ + (مثل +9647501234567) أو عنوان بريد إلكتروني",
  field_query_quote: "في الحقل {field} علامة تنصيص لم تُغلق",
  field_query_star: "في الحقل {field} لا يأتي * إلا في نهاية كلمة أو عبارة بين علامتي تنصيص، مثل deliv*",
  field_query_prefix: "في الحقل {field} تحتاج الكلمة المنتهية بـ * إلى {min} أحرف على الأقل قبل *",
  field_query_empty: "يجب أن يحتوي الحقل {field} على كلمة واحدة على الأقل",
  // Privacy (issue 21)
  erasure_requested: "تم طلب المحو",
  erasure_running: "يجري بالفعل محو بيانات هذا العميل",
  erasure_ok: "تم جلب طلب المحو بنجاح",
  erasures_ok: "تم جلب طلبات المحو بنجاح",
  erasure_not_found: "طلب المحو غير موجود",
  communication_redacted: "تم تنقيح مراسلة العميل بنجاح",
  communication_already_redacted: "تم تنقيح مراسلة العميل مسبقًا",
  settings_ok: "تم جلب الإعدادات بنجاح",
  settings_updated: "تم تحديث الإعدادات بنجاح",
  audit_ok: "تم جلب سجل التدقيق بنجاح",
  field_phone_needs_plus: "يجب أن يبدأ الحقل {field} بالرمز + ورمز الدولة",
};

const ku: Catalogue = {
  list_ok: "پەیوەندییەکانی کڕیاران بە سەرکەوتوویی وەرگیران",
  create_ok: "پەیوەندیی کڕیار بە سەرکەوتوویی دروستکرا",
  get_ok: "پەیوەندیی کڕیار بە سەرکەوتوویی وەرگیرا",
  status_updated: "دۆخی پەیوەندیی کڕیار بە سەرکەوتوویی نوێکرایەوە",
  status_unchanged: "دۆخ نەگۆڕا: پەیوەندییەکە هەمان دۆخ، دۆخێکی نوێتر یان کۆتایی هەیە",
  events_ok: "ڕووداوەکانی پەیوەندیی کڕیار بە سەرکەوتوویی وەرگیران",
  shards_ok: "بەشەکان بە سەرکەوتوویی وەرگیران",
  tenant_ok: "شوێنی کرێچی بە سەرکەوتوویی وەرگیرا",
  move_started: "گواستنەوەی کرێچی دەستی پێکرد",
  archive_ok: "پەیوەندییە ئەرشیفکراوەکان بە سەرکەوتوویی وەرگیران",
  validation_failed: "پارامەترەکانی داواکاری نادروستن",
  invalid_json: "ناوەڕۆکی داواکاری JSONی دروست نییە",
  unauthorized: "ڕێگەپێنەدراو",
  token_invalid: "تۆکنی دەستگەیشتن نادروستە یان بەسەرچووە",
  forbidden: "مۆڵەتی پێویست نییە",
  no_tenant: "هەژمارەکەت بە هیچ کرێچییەکەوە نەبەستراوە",
  tenant_mismatch: "ناتوانیت دەستت بگات بە زانیارییەکانی کرێچییەکی تر",
  customer_mismatch: "کڕیاران تەنها دەتوانن دەستیان بگات بە پەیوەندییەکانی خۆیان",
  not_found: "پەیوەندیی کڕیار نەدۆزرایەوە",
  tenant_not_found: "کرێچی نەدۆزرایەوە",
  archive_not_found: "هیچ پەیوەندییەکی ئەرشیفکراو بۆ ئەو ڕۆژە نییە",
  move_conflict: "کرێچی پێشتر لەسەر ئەو بەشەیە یان لە گواستنەوەدایە",
  route_not_found: "ڕێڕەو نەدۆزرایەوە",
  method_not_allowed: "ئەم شێوازە ڕێگەپێدراو نییە",
  idempotency_conflict: "ئەم Idempotency-Key ـە پێشتر لەگەڵ داواکارییەکی جیاواز بەکارهاتووە",
  body_too_large: "ناوەڕۆکی داواکاری زۆر گەورەیە",
  unsupported_media_type: "ناوەڕۆکی داواکاری دەبێت وەک application/json بنێردرێت",
  rate_limited: "داواکاری زۆر زۆرە، تکایە دواتر هەوڵ بدەرەوە",
  provider_saved: "پەیوەندی دابینکەر بە سەرکەوتوویی پاشەکەوت کرا",
  providers_ok: "پەیوەندییەکانی دابینکەر بە سەرکەوتوویی وەرگیران",
  provider_deleted: "پەیوەندی دابینکەر بە سەرکەوتوویی سڕایەوە",
  provider_not_found: "پەیوەندی دابینکەر نەدۆزرایەوە",
  provider_message_conflict: "پەیوەندییەک بەم دابینکەر و provider_message_id ـە پێشتر هەیە",
  webhook_accepted: "وێبهووک وەرگیرا",
  webhook_unauthorized: "پشتڕاستکردنەوەی واژۆی وێبهووک سەرنەکەوت",
  provider_secrets_not_configured: "پەیوەندییەکانی دابینکەر لەسەر ئەم ڕاژەکارە ڕێکنەخراون",
  internal_error: "هەڵەی ناوخۆیی ڕاژەکار",
  db_unavailable: "خزمەتگوزارییەکە بە کاتی بەردەست نییە، تکایە دواتر هەوڵ بدەرەوە",
  auth_not_configured: "ناسینەوە لەسەر ئەم ڕاژەکارە ڕێکنەخراوە",
  auth_keys_unavailable: "کلیلەکانی واژۆی تۆکن بە کاتی بەردەست نین، تکایە دواتر هەوڵ بدەرەوە",
  field_required: "خانەی {field} پێویستە",
  field_invalid_type: "جۆری خانەی {field} هەڵەیە",
  field_invalid_value: "خانەی {field} دەبێت یەکێک بێت لە: {values}",
  field_invalid_format: "خانەی {field} {format}ی دروست نییە",
  field_too_small: "خانەی {field} دەبێت لانیکەم {min} بێت",
  field_too_big: "خانەی {field} دەبێت زۆرترین {max} بێت",
  field_too_long: "خانەی {field} دەبێت زۆرترین {max} پیت بێت",
  field_unknown: "خانەی {field} وەرناگیرێت",
  field_invalid: "خانەی {field} نادروستە",
  field_tenant_required: "خانەی {field} بۆ بەڕێوەبەرانی سیستەم پێویستە",
  field_cursor_with_page: "خانەی {field} لەگەڵ page بەکارناهێنرێت",
  field_page_too_deep: "خانەی {field} لە یەکەم {max} ئەنجام تێدەپەڕێت؛ بۆ بەردەوامبوون cursor (next_cursor) بەکاربهێنە",
  field_in_future: "خانەی {field} نابێت لە داهاتوودا بێت",
  // Provider secrets: what a valid one looks like (issue 17)
  field_provider_auth_token:
    "خانەی {field} دەبێت Auth Tokenی هەژماری Twilio بێت (Console، Account Info): 16 تا 128 پیتی ASCIIی دیار بێ بۆشایی، زۆرجار 32 پیتی شازدەیی",
  field_provider_public_key:
    "خانەی {field} دەبێت کلیلی پشتڕاستکردنەوەی Event Webhookی SendGrid بێت (Mail Settings، Event Webhook، Signature Verification): کلیلێکی گشتی ECDSA P-256 بە base64",
  field_provider_secret:
    "خانەی {field} دەبێت نهێنیی واژۆکردنی خاڵی وەرگرتن بێت: whsec_ و لە دوایدا base64ی لانیکەم 16 بایتی هەڕەمەکی (24 یان زیاتر باشترە)",
  // Events out (issue 18)
  subscription_created: "بەشداریکردن بە سەرکەوتوویی دروستکرا؛ نهێنییەکە ئێستا هەڵبگرە، جارێکی تر پیشان نادرێتەوە",
  subscriptions_ok: "بەشداریکردنەکان بە سەرکەوتوویی وەرگیران",
  subscription_ok: "بەشداریکردن بە سەرکەوتوویی وەرگیرا",
  subscription_updated: "بەشداریکردن بە سەرکەوتوویی نوێکرایەوە",
  subscription_deleted: "بەشداریکردن بە سەرکەوتوویی سڕایەوە",
  subscription_secret_rotated: "نهێنیی بەشداریکردن گۆڕدرا؛ نهێنیی پێشوو بۆ ماوەی 24 کاتژمێر واژۆ دەکات",
  deliveries_ok: "گەیاندنەکان بە سەرکەوتوویی وەرگیران",
  replay_accepted: "دووبارە ناردن پەسەندکرا: ڕووداوەکان دووبارە دەنێردرێنەوە",
  subscription_not_found: "بەشداریکردن نەدۆزرایەوە",
  subscription_limit: "کرێچی ناتوانێت زیاتر لە 20 بەشداریکردنی هەبێت",
  subscription_not_active: "بەشداریکردنەکە چالاک نییە؛ پێش دووبارە ناردن چالاکی بکە",
  subscriptions_not_configured: "بەشداریکردنەکان لەسەر ئەم ڕاژەکارە ڕێکنەخراون",
  field_url_invalid: "{field} URLێکی دروست نییە کە لە 2048 پیت زیاتر نەبێت",
  field_url_scheme: "{field} دەبێت URLێکی https بێت",
  field_url_credentials: "{field} نابێت ناوی بەکارهێنەر یان وشەی نهێنی تێدابێت",
  field_url_private: "{field} نابێت ئاماژە بە ناونیشانێکی ناوخۆیی، تایبەت یان ناگشتی بکات",
  field_url_own_host: "{field} نابێت ئاماژە بەم خزمەتگوزارییە بکات",
  field_replay_too_old: "{field} دەبێت لە ماوەی {days} ڕۆژی ڕابردوودا بێت",
  field_until_before_since: "{field} دەبێت دوای since بێت",
  field_nothing_to_update: "{field} دەبێت لانیکەم یەکێک لەمانەی تێدابێت: {values}",
  // Provider webhooks and unattributed messages (issue 16)
  unmatched_ok: "ڕووداوە نەگونجاوەکانی دابینکەران بە سەرکەوتوویی وەرگیران",
  field_customer_reserved:
    "خانەی {field} ناتوانێت UUIDی سفر (nil UUID) بێت: ئەوە نیشانەی نامە هاتووەکانی نێرەرانی نەناسراوە",
  // Public origin (issue 23)
  public_base_url_invalid: "URLی گشتیی ئەم ڕاژەکارە بە دروستی ڕێکنەخراوە",
  // Live stream (issue 19)
  stream_ticket_ok: "بلیتی پەخشی ڕاستەوخۆ دەرکرا",
  ticket_invalid: "بلیتی پەخش نادروستە، بەسەرچووە یان پێشتر بەکارهاتووە",
  // Finding and exporting (issue 20)
  search_not_ready:
    "گەڕان هێشتا بۆ ئەم کرێچییە بەردەست نییە: نامەکانی پێشووی هێشتا پێڕست دەکرێن. تکایە دواتر هەوڵ بدەرەوە",
  field_address_invalid:
    "خانەی {field} دەبێت ژمارەی تەلەفۆن بێت بە شێوازی نێودەوڵەتی کە بە + دەست پێدەکات (بۆ نموونە +9647501234567)، یان ناونیشانی ئیمەیڵ",
  field_query_quote: "لە خانەی {field} نیشانەیەکی وتە هەیە کە دانەخراوە",
  field_query_star:
    "لە خانەی {field}دا * تەنها دەتوانێت لە کۆتایی وشەیەک یان دەستەواژەیەکی ناو نیشانەی وتەدا بێت، وەک deliv*",
  field_query_prefix: "لە خانەی {field}دا وشەیەک کە بە * کۆتایی دێت پێویستی بە لانیکەم {min} پیت هەیە پێش *",
  field_query_empty: "خانەی {field} دەبێت لانیکەم یەک وشە لەخۆ بگرێت",
  // Privacy (issue 21)
  erasure_requested: "داواکاری سڕینەوە تۆمارکرا",
  erasure_running: "سڕینەوەی زانیارییەکانی ئەم کڕیارە پێشتر لە کاردایە",
  erasure_ok: "سڕینەوەکە بە سەرکەوتوویی وەرگیرا",
  erasures_ok: "سڕینەوەکان بە سەرکەوتوویی وەرگیران",
  erasure_not_found: "سڕینەوەکە نەدۆزرایەوە",
  communication_redacted: "ناوەڕۆکی پەیوەندیی کڕیار بە سەرکەوتوویی شاردرایەوە",
  communication_already_redacted: "ناوەڕۆکی پەیوەندیی کڕیار پێشتر شاردراوەتەوە",
  settings_ok: "ڕێکخستنەکان بە سەرکەوتوویی وەرگیران",
  settings_updated: "ڕێکخستنەکان بە سەرکەوتوویی نوێکرانەوە",
  audit_ok: "تۆماری وردبینی بە سەرکەوتوویی وەرگیرا",
  field_phone_needs_plus: "خانەی {field} دەبێت بە + و کۆدی وڵات دەست پێبکات",
};

const fa: Catalogue = {
  list_ok: "ارتباطات مشتریان با موفقیت دریافت شد",
  create_ok: "ارتباط مشتری با موفقیت ایجاد شد",
  get_ok: "ارتباط مشتری با موفقیت دریافت شد",
  status_updated: "وضعیت ارتباط مشتری با موفقیت به‌روزرسانی شد",
  status_unchanged: "وضعیت تغییر نکرد: ارتباط همین وضعیت، وضعیتی جدیدتر یا نهایی دارد",
  events_ok: "رویدادهای ارتباط مشتری با موفقیت دریافت شد",
  shards_ok: "شاردها با موفقیت دریافت شدند",
  tenant_ok: "محل مستأجر با موفقیت دریافت شد",
  move_started: "انتقال مستأجر آغاز شد",
  archive_ok: "ارتباطات بایگانی‌شده با موفقیت دریافت شدند",
  validation_failed: "پارامترهای درخواست نامعتبر است",
  invalid_json: "بدنه درخواست JSON معتبر نیست",
  unauthorized: "احراز هویت نشده",
  token_invalid: "توکن دسترسی نامعتبر یا منقضی شده است",
  forbidden: "دسترسی کافی ندارید",
  no_tenant: "حساب شما به هیچ مستأجری متصل نیست",
  tenant_mismatch: "شما به داده‌های مستأجر دیگر دسترسی ندارید",
  customer_mismatch: "مشتریان فقط به ارتباطات خود دسترسی دارند",
  not_found: "ارتباط مشتری یافت نشد",
  tenant_not_found: "مستأجر یافت نشد",
  archive_not_found: "برای آن روز هیچ ارتباط بایگانی‌شده‌ای وجود ندارد",
  move_conflict: "مستأجر از قبل روی آن شارد است یا در حال انتقال است",
  route_not_found: "مسیر یافت نشد",
  method_not_allowed: "این متد مجاز نیست",
  idempotency_conflict: "این Idempotency-Key قبلاً با درخواست دیگری استفاده شده است",
  body_too_large: "بدنه درخواست بیش از حد بزرگ است",
  unsupported_media_type: "بدنه درخواست باید به صورت application/json ارسال شود",
  rate_limited: "درخواست‌ها بیش از حد زیاد است، لطفاً بعداً دوباره تلاش کنید",
  provider_saved: "اتصال ارائه‌دهنده با موفقیت ذخیره شد",
  providers_ok: "اتصال‌های ارائه‌دهنده با موفقیت دریافت شدند",
  provider_deleted: "اتصال ارائه‌دهنده با موفقیت حذف شد",
  provider_not_found: "اتصال ارائه‌دهنده یافت نشد",
  provider_message_conflict: "ارتباطی با این ارائه‌دهنده و این provider_message_id از قبل وجود دارد",
  webhook_accepted: "وب‌هوک پذیرفته شد",
  webhook_unauthorized: "تأیید امضای وب‌هوک ناموفق بود",
  provider_secrets_not_configured: "اتصال‌های ارائه‌دهنده روی این سرور پیکربندی نشده‌اند",
  internal_error: "خطای داخلی سرور",
  db_unavailable: "سرویس موقتاً در دسترس نیست، لطفاً بعداً دوباره تلاش کنید",
  auth_not_configured: "احراز هویت روی این سرور پیکربندی نشده است",
  auth_keys_unavailable: "کلیدهای امضای توکن موقتاً در دسترس نیستند، لطفاً بعداً دوباره تلاش کنید",
  field_required: "فیلد {field} الزامی است",
  field_invalid_type: "نوع فیلد {field} نادرست است",
  field_invalid_value: "فیلد {field} باید یکی از این موارد باشد: {values}",
  field_invalid_format: "فیلد {field} یک {format} معتبر نیست",
  field_too_small: "فیلد {field} باید حداقل {min} باشد",
  field_too_big: "فیلد {field} باید حداکثر {max} باشد",
  field_too_long: "فیلد {field} باید حداکثر {max} نویسه باشد",
  field_unknown: "فیلد {field} پذیرفته نمی‌شود",
  field_invalid: "فیلد {field} نامعتبر است",
  field_tenant_required: "فیلد {field} برای مدیران سیستم الزامی است",
  field_cursor_with_page: "فیلد {field} را نمی‌توان همراه با page استفاده کرد",
  field_page_too_deep: "فیلد {field} از {max} نتیجهٔ نخست فراتر می‌رود؛ برای ادامه از cursor (next_cursor) استفاده کنید",
  field_in_future: "فیلد {field} نباید در آینده باشد",
  // Provider secrets: what a valid one looks like (issue 17)
  field_provider_auth_token:
    "فیلد {field} باید Auth Token حساب Twilio باشد (Console، Account Info): ۱۶ تا ۱۲۸ نویسهٔ قابل‌مشاهدهٔ ASCII بدون فاصله، معمولاً ۳۲ نویسهٔ شانزده‌دهی",
  field_provider_public_key:
    "فیلد {field} باید کلید تأیید Event Webhook در SendGrid باشد (Mail Settings، Event Webhook، Signature Verification): یک کلید عمومی ECDSA P-256 با base64",
  field_provider_secret:
    "فیلد {field} باید راز امضای نقطهٔ دریافت باشد: whsec_ و پس از آن base64 دست‌کم ۱۶ بایت تصادفی (۲۴ یا بیشتر توصیه می‌شود)",
  // Events out (issue 18)
  subscription_created: "اشتراک با موفقیت ایجاد شد؛ رمز آن را همین حالا نگه دارید، دوباره نمایش داده نمی‌شود",
  subscriptions_ok: "اشتراک‌ها با موفقیت دریافت شدند",
  subscription_ok: "اشتراک با موفقیت دریافت شد",
  subscription_updated: "اشتراک با موفقیت به‌روزرسانی شد",
  subscription_deleted: "اشتراک با موفقیت حذف شد",
  subscription_secret_rotated: "رمز اشتراک تعویض شد؛ رمز قبلی تا 24 ساعت همچنان امضا می‌کند",
  deliveries_ok: "تحویل‌ها با موفقیت دریافت شدند",
  replay_accepted: "ارسال دوباره پذیرفته شد: رویدادها دوباره ارسال می‌شوند",
  subscription_not_found: "اشتراک یافت نشد",
  subscription_limit: "هر مستأجر حداکثر 20 اشتراک می‌تواند داشته باشد",
  subscription_not_active: "اشتراک فعال نیست؛ پیش از ارسال دوباره آن را فعال کنید",
  subscriptions_not_configured: "اشتراک‌ها روی این سرور پیکربندی نشده‌اند",
  field_url_invalid: "فیلد {field} یک URL معتبر با حداکثر 2048 نویسه نیست",
  field_url_scheme: "فیلد {field} باید یک URL با https باشد",
  field_url_credentials: "فیلد {field} نباید نام کاربری یا گذرواژه داشته باشد",
  field_url_private: "فیلد {field} نباید به نشانی محلی، خصوصی یا غیرعمومی اشاره کند",
  field_url_own_host: "فیلد {field} نباید به خود این سرویس اشاره کند",
  field_replay_too_old: "فیلد {field} باید در {days} روز گذشته باشد",
  field_until_before_since: "فیلد {field} باید پس از since باشد",
  field_nothing_to_update: "فیلد {field} باید دست‌کم یکی از این موارد را داشته باشد: {values}",
  // Provider webhooks and unattributed messages (issue 16)
  unmatched_ok: "رویدادهای تطبیق‌نیافته ارائه‌دهندگان با موفقیت دریافت شد",
  field_customer_reserved:
    "فیلد {field} نمی‌تواند UUID تهی (nil UUID) باشد: این شناسه پیام‌های ورودی از فرستندگان ناشناس را مشخص می‌کند",
  // Public origin (issue 23)
  public_base_url_invalid: "نشانی URL عمومی این سرور به‌درستی پیکربندی نشده است",
  // Live stream (issue 19)
  stream_ticket_ok: "بلیت پخش زنده صادر شد",
  ticket_invalid: "بلیت پخش نامعتبر، منقضی یا قبلاً استفاده شده است",
  // Finding and exporting (issue 20)
  search_not_ready:
    "جست‌وجو هنوز برای این مستأجر در دسترس نیست: پیام‌های قبلی آن هنوز در حال نمایه‌سازی هستند. لطفاً بعداً دوباره تلاش کنید",
  field_address_invalid:
    "فیلد {field} باید شمارهٔ تلفن در قالب بین‌المللی باشد که با + شروع می‌شود (مثلاً +9647501234567)، یا یک نشانی ایمیل",
  field_query_quote: "در فیلد {field} یک علامت نقل‌قول بسته نشده است",
  field_query_star: "در فیلد {field}، * فقط می‌تواند در پایان یک واژه یا عبارتِ داخل نقل‌قول بیاید، مانند deliv*",
  field_query_prefix: "در فیلد {field}، واژه‌ای که با * تمام می‌شود پیش از * دست‌کم {min} نویسه لازم دارد",
  field_query_empty: "فیلد {field} باید دست‌کم یک واژه داشته باشد",
  // Privacy (issue 21)
  erasure_requested: "درخواست پاک‌سازی ثبت شد",
  erasure_running: "پاک‌سازی داده‌های این مشتری از قبل در حال اجراست",
  erasure_ok: "درخواست پاک‌سازی با موفقیت دریافت شد",
  erasures_ok: "درخواست‌های پاک‌سازی با موفقیت دریافت شدند",
  erasure_not_found: "درخواست پاک‌سازی یافت نشد",
  communication_redacted: "محتوای ارتباط مشتری با موفقیت حذف و پوشانده شد",
  communication_already_redacted: "محتوای ارتباط مشتری قبلاً حذف و پوشانده شده است",
  settings_ok: "تنظیمات با موفقیت دریافت شد",
  settings_updated: "تنظیمات با موفقیت به‌روزرسانی شد",
  audit_ok: "گزارش ممیزی با موفقیت دریافت شد",
  field_phone_needs_plus: "فیلد {field} باید با + و کد کشور شروع شود",
};

export const LANGUAGES = ["en", "ar", "ku", "fa"] as const;
export type Language = (typeof LANGUAGES)[number];

export const catalogue: Record<Language, Catalogue> = { en, ar, ku, fa };

export type MessageParams = Record<string, string | number>;

/** Whether `key` names a message of the catalogue (a refinement's params.key, src/lib/validation.ts). */
export const isMessageKey = (key: string): key is MessageKey => Object.hasOwn(en, key);

export function translate(lang: Language, key: MessageKey, params?: MessageParams): string {
  const template = catalogue[lang][key];
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

function isLanguage(value: string): value is Language {
  return (LANGUAGES as readonly string[]).includes(value);
}

/**
 * The `language` query parameter wins; then the first supported entry of
 * Accept-Language; then English. Unknown values fall back, never fail.
 */
export function resolveLanguage(query: string | undefined, acceptLanguage: string | undefined): Language {
  const q = query?.trim().toLowerCase();
  if (q && isLanguage(q)) return q;
  if (q) return "en";
  for (const part of acceptLanguage?.split(",") ?? []) {
    const tag = part.split(";")[0]?.trim().toLowerCase().split("-")[0];
    // ckb is the ISO 639-3 code for Sorani Kurdish, which the platform calls ku.
    const lang = tag === "ckb" ? "ku" : tag;
    if (lang && isLanguage(lang)) return lang;
  }
  return "en";
}
