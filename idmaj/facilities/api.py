from rest_framework.generics import ListAPIView, RetrieveAPIView


class FacilityList(ListAPIView):
    pass


class FacilityDetail(RetrieveAPIView):
    pass
